"""Is the index on disk whole, and rebuild it when it is not: `ingest.py --check` / `--repair`.

The check opens the live version exactly as the app and the API do, so "healthy" means they
can open it too; when opening fails on a damaged file, each file is then read on its own, so
that every damaged one is listed, not only the first. The vectors of a normalized embedder
must have unit length, which catches a vectors file overwritten inside (its size and header
intact) where reading it cannot. Files changed since indexing are information, not damage.

The repair is a full rebuild from the documents (`ingest(rebuild=True)`), even when only one
file is damaged: embedding is most of an ingest, and a part that reads can still be wrong in
ways nothing detects, so nothing of the damaged version is trusted. The new version is written
beside the damaged one and switched in only when complete (`save_index`); until then the
damaged version stays exactly as it was, and a reader that had loaded it keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from config import Settings
from index.embeddings import Embedder
from index.errors import IndexCorruptError, IndexMismatchError, IndexStoreError, damaged
from index.knowledge_base import KnowledgeBase
from index.manifest import MANIFEST_FILE, Manifest, read_embedder_identity, read_manifest
from index.stores import backend_of, store_class
from index.updater import IngestReport, file_digest, ingest, source_path
from index.versions import current_version, load_index

UNIT_LENGTH_TOLERANCE = 1e-3


@dataclass
class IndexHealth:
    """What `--check` found: problems make the index unusable; notes are information."""

    problems: list[str] = field(default_factory=list)
    """Each names the damaged file (or what else is wrong) and the command to run."""
    notes: list[str] = field(default_factory=list)
    repairable: bool = False
    """The problems are damage or a missing index, which `--repair` fixes by rebuilding (an
    index of another embedder or format is not: the user chooses `--rebuild` or the config)."""
    version: Path | None = None
    files: int = 0
    chunks: int = 0
    seconds: float = 0.0

    @property
    def healthy(self) -> bool:
        return not self.problems


def check_index(settings: Settings, embedder: Embedder) -> IndexHealth:
    """Open the live index as every face does and report what keeps it from working."""
    started = time.perf_counter()
    folder = settings.paths.index
    try:
        version = current_version(folder, settings.store)
        knowledge_base = load_index(folder, embedder, settings.store)
    except IndexCorruptError as err:
        health = IndexHealth(_damaged_files(settings) or [str(err)], repairable=True)
    except IndexMismatchError as err:
        health = IndexHealth([str(err)])
    except IndexStoreError as err:  # no index yet: --repair builds one
        health = IndexHealth([str(err)], repairable=True)
    else:
        health = _inspect(knowledge_base, settings, version)
    health.seconds = time.perf_counter() - started
    return health


def repair_index(
    settings: Settings,
    embedder: Embedder,
    *,
    show_progress: bool = True,
    lock_wait_seconds: float = 600.0,
    on_message: Callable[[str], None] = print,
) -> IngestReport:
    """Rebuild the index from the documents it was built from (see the module's docstring)."""
    return ingest(
        settings,
        embedder,
        _indexed_roots(settings),
        rebuild=True,
        show_progress=show_progress,
        lock_wait_seconds=lock_wait_seconds,
        on_message=on_message,
    )


def _damaged_files(settings: Settings) -> list[str]:
    """Every damaged file of the live version and its store, each read on its own (opening
    stops at the first); empty when each reads and only their agreement failed."""
    try:
        version = current_version(settings.paths.index, settings.store)
    except IndexCorruptError as err:
        return [str(err)]
    problems = []
    try:
        read_embedder_identity(version)
    except IndexStoreError as err:
        problems.append(str(err))
    manifest = None
    try:
        manifest = read_manifest(version)
    except IndexStoreError as err:
        problems.append(str(err))
    store = store_class(backend_of(manifest) if manifest else settings.store.backend)
    return problems + store.damaged_files(version, manifest, settings.store)


def _inspect(knowledge_base: KnowledgeBase, settings: Settings, version: Path) -> IndexHealth:
    """A readable, consistent index: its vectors' lengths, and what changed since indexing."""
    health = IndexHealth(
        version=version,
        files=len(knowledge_base.manifest.files),
        chunks=knowledge_base.vector_count,
    )
    off = _rows_off_unit_length(knowledge_base)
    if off.size:
        rows = ", ".join(str(row) for row in off[:5])
        problem = f"{_count(off.size, 'vector')} not of unit length (chunks {rows})"
        health.problems.append(str(damaged(problem, *_vector_files(knowledge_base, version))))
        health.repairable = True
    changed = _changed_files(knowledge_base.manifest, settings.paths.documents)
    if changed:
        names = ", ".join(changed[:5]) + (", …" if len(changed) > 5 else "")
        health.notes.append(
            f"{_count(len(changed), 'file')} changed or removed since indexing ({names}); "
            "run `python ingest.py` to bring the index up to date"
        )
    if knowledge_base.manifest.chunking != settings.chunking.model_dump():
        health.notes.append(
            "the chunking settings changed since indexing; "
            "run `python ingest.py --rebuild` to use the new ones"
        )
    return health


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _rows_off_unit_length(knowledge_base: KnowledgeBase) -> np.ndarray:
    if not knowledge_base.identity.normalized or knowledge_base.vector_count == 0:
        return np.array([], dtype=int)
    ids = knowledge_base.ids
    stored = knowledge_base.vectors_by_id(ids)
    vectors = np.stack([stored[i] for i in ids])
    with np.errstate(invalid="ignore", over="ignore"):
        lengths = np.linalg.norm(vectors, axis=1)
    return np.array(
        [ids[row] for row in np.flatnonzero(~(np.abs(lengths - 1.0) <= UNIT_LENGTH_TOLERANCE))]
    )


def _vector_files(knowledge_base: KnowledgeBase, version: Path) -> list[Path]:
    """Where the vectors are kept: the store's files, or the manifest that names where (a
    store on a server has no files on this machine)."""
    files = knowledge_base.store.vector_files(version, knowledge_base.manifest)
    return files or [version / MANIFEST_FILE]


def _changed_files(manifest: Manifest, documents: Path) -> list[str]:
    """Indexed files whose content no longer hashes as it did, or that are gone."""
    changed = []
    for source, record in sorted(manifest.files.items()):
        try:
            digest = file_digest(source_path(source, documents))
        except OSError:
            digest = None
        if digest != record.hash:
            changed.append(source)
    return changed


def _indexed_roots(settings: Settings) -> list[Path]:
    """The documents folder, and the files outside it that the index held when its manifest
    can still be read (they were named on the command line once; a rebuild must not drop
    them)."""
    try:
        version = current_version(settings.paths.index, settings.store)
        files = read_manifest(version).files if version else {}
    except IndexStoreError:
        files = {}
    outside = sorted(Path(source) for source in files if Path(source).is_absolute())
    return [settings.paths.documents, *outside]
