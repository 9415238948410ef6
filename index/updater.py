"""Bring the index in line with the files on disk: the work behind `python ingest.py`.

Incremental by content hash: unchanged files are skipped, changed files are re-chunked (and only
chunks whose text is new are embedded; the others reuse their stored vectors), files that
disappeared lose their chunks. Everything happens in memory and is saved as a new index version
at the end, so an interrupted run changes nothing on disk.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np
from langchain_core.documents import Document
from opentelemetry import trace
from opentelemetry.util.types import AttributeValue
from tqdm import tqdm

from config import ChunkingSettings, Settings
from errors import N_, Message, RagchatError
from index.embeddings import Embedder, unit_rows
from index.errors import IndexMismatchError
from index.knowledge_base import KnowledgeBase
from index.lock import index_lock
from index.manifest import FileRecord
from index.records import encode_sentence_vectors, sentence_unit_limit
from index.versions import current_version, load_index, save_index
from loaders import SUPPORTED_SUFFIXES, LoaderError
from loaders.chunking import CharRuler, SlidingWindowSplitter, TokenRuler
from loaders.isolation import IsolatedLoader
from loaders.metadata import add_languages, sidecar_bytes
from observability.stages import current, stage
from text.sentences import sentence_units

tracer = trace.get_tracer(__name__)
Status = Literal["added", "updated", "removed", "unchanged", "failed"]
METADATA_VERSION = b"metadata-1"
"""Folded into every file's fingerprint: raised when chunks get new metadata, so the next ingest
re-chunks files indexed before (their vectors are reused: nothing is embedded again)."""


@dataclass
class FileOutcome:
    source: str
    status: Status
    chunks: int = 0
    reason: str = ""
    """Why it failed, in English (the API, logs)."""
    problem: RagchatError | Message | None = field(default=None, repr=False, compare=False)
    """`reason` as a translatable message: the app and ingest.py show it in the reader's
    language (`i18n.explain`)."""

    @classmethod
    def failed(cls, source: str, problem: RagchatError | Message) -> FileOutcome:
        return cls(source, "failed", reason=str(problem), problem=problem)


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    embedded: int = 0
    """Chunks whose vectors were computed in this run."""
    reused: int = 0
    """Chunks that needed no embedding: their text was already indexed, or seen in this run."""
    total_files: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    saved: bool = False
    dry_run: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def failures(self) -> list[FileOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]


@dataclass
class _PendingFile:
    path: Path
    source: str
    digest: str
    size: int
    previous: FileRecord | None


def ingest(
    settings: Settings,
    embedder: Embedder,
    paths: Iterable[Path] | None = None,
    *,
    rebuild: bool = False,
    dry_run: bool = False,
    show_progress: bool = True,
    lock_wait_seconds: float = 600.0,
    on_message: Callable[[str], None] = print,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Index the files under `paths` (default: the documents folder) and save the result.
    `on_progress(done, total)` follows the embedding, for progress bars other than tqdm's."""
    default_roots = [settings.paths.documents, *settings.paths.extra_documents]
    roots = [Path(p).resolve() for p in (paths or default_roots)]
    report = IngestReport(dry_run=dry_run)
    with _locked_index(settings, embedder, report, rebuild, lock_wait_seconds, on_message) as kb:
        pending = _plan(kb, roots, settings.paths.documents, report)
        if dry_run:
            report.outcomes += [FileOutcome(item.source, _status_of(item)) for item in pending]
        else:
            progress = _Progress(show_progress, on_progress)
            changed = _apply(kb, pending, embedder, settings, report, progress)
            batch_size = settings.embedding.batch_size
            upgraded = _complete_sentence_vectors(kb, embedder, batch_size, progress)
            if upgraded:
                on_message(f"{upgraded} chunks of the older index got their sentence vectors")
            changed = changed or upgraded > 0
            report.saved = changed or rebuild or current_version(settings.paths.index) is None
    return report


@contextmanager
def _locked_index(
    settings: Settings,
    embedder: Embedder,
    report: IngestReport,
    rebuild: bool,
    lock_wait_seconds: float,
    on_message: Callable[[str], None],
) -> Iterator[KnowledgeBase]:
    """The index opened under the writers' lock; saved afterwards if the body set
    `report.saved`, and the report's totals and time filled in."""
    started = time.perf_counter()
    folder = settings.paths.index
    with index_lock(folder, lock_wait_seconds, on_message):
        knowledge_base = _open(settings, embedder, rebuild)
        yield knowledge_base
        if report.saved:
            with stage(tracer, "save", {"ragchat.chunks": knowledge_base.vector_count}):
                save_index(knowledge_base, folder)
        report.total_files = len(knowledge_base.manifest.files)
        report.total_chunks = knowledge_base.vector_count
    report.seconds = time.perf_counter() - started


def make_splitter(chunking: ChunkingSettings, embedder: Embedder) -> SlidingWindowSplitter:
    ruler = TokenRuler(embedder.count_tokens) if chunking.unit == "tokens" else CharRuler()
    return SlidingWindowSplitter(
        chunking.size, chunking.overlap, chunking.boundary_tolerance, ruler=ruler
    )


@dataclass
class Discovery:
    """What `discover` found under the roots."""

    files: list[Path]
    """Files to read, each once, by its real path."""
    skipped: dict[Path, str]
    """Symbolic links not followed, with the reason."""


def discover(roots: Iterable[Path]) -> Discovery:
    """Supported files under each folder (hidden ones skipped); a named file is taken as is.

    A symbolic link in a folder is followed only to a path inside that folder, so a link cannot
    pull a file from elsewhere (`~/.ssh`, `/etc`) into the index; one leading outside, or
    nowhere (a loop), is skipped with the reason. Linked folders are not walked into: what a
    link inside leads to is walked anyway, under its real path."""
    found: set[Path] = set()
    skipped: dict[Path, str] = {}
    for root in (Path(root).resolve() for root in roots):
        if root.is_file():
            found.add(root)
            continue
        for folder, dirnames, filenames in os.walk(root):
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            for name in dirnames + [name for name in filenames if not name.startswith(".")]:
                path = Path(folder, name)
                if path.is_symlink():
                    _follow_link(path, root, found, skipped)
                elif path.is_file() and _supported(path):  # a regular file: no FIFO, no device
                    found.add(path)
    return Discovery(sorted(found), skipped)


def discover_files(roots: Iterable[Path]) -> list[Path]:
    """The files `discover` finds, without the links it skipped."""
    return discover(roots).files


def _follow_link(link: Path, root: Path, found: set[Path], skipped: dict[Path, str]) -> None:
    """Take a link's target if it is a supported file inside `root`; report one that leads
    outside or nowhere, unless it is no document anyway."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # missing target, or a loop (RuntimeError before 3.13)
        if _supported(link):
            skipped[link] = "broken symbolic link (missing target, or a loop): skipped"
        return
    if not (target.is_dir() or _supported(target) or _supported(link)):
        return
    if not _is_within(target, root):
        skipped[link] = f"symbolic link to a path outside {root}: skipped"
    elif target.is_file() and _supported(target):
        found.add(target)


def _supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_SUFFIXES


def source_name(path: Path, documents_root: Path) -> str:
    """How a file is named in the index: relative to the documents folder when inside it."""
    try:
        return path.resolve().relative_to(documents_root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def source_path(source: str, documents_root: Path) -> Path:
    return (documents_root / source).resolve()


def _open(settings: Settings, embedder: Embedder, rebuild: bool) -> KnowledgeBase:
    folder = settings.paths.index
    wanted = settings.chunking.model_dump()
    if rebuild or current_version(folder, settings.store) is None:
        return KnowledgeBase.empty(embedder, wanted, settings.store)
    knowledge_base = load_index(folder, embedder, settings.store)
    if knowledge_base.manifest.chunking != wanted:
        raise IndexMismatchError(
            f"chunking settings changed since the index was built "
            f"(was {knowledge_base.manifest.chunking}, now {wanted}); "
            "rebuild it with `python ingest.py --rebuild`"
        )
    return knowledge_base


def _plan(
    knowledge_base: KnowledgeBase, roots: list[Path], documents_root: Path, report: IngestReport
) -> list[_PendingFile]:
    """Sort files into unchanged / to index, and drop those under `roots` that disappeared."""
    manifest = knowledge_base.manifest
    for root in roots:
        if not root.exists():
            report.outcomes.append(
                FileOutcome.failed(str(root), Message(N_("no such file or folder")))
            )
    discovery = discover(roots)
    seen: set[str] = set()
    for link, reason in discovery.skipped.items():  # named where it is, not where it points
        source = (PurePosixPath(source_name(link.parent, documents_root)) / link.name).as_posix()
        seen.add(source)  # what was indexed under its name stays, as for a file that fails
        report.outcomes.append(FileOutcome(source, "failed", reason=reason))
    pending: list[_PendingFile] = []
    for path in discovery.files:
        source = source_name(path, documents_root)
        seen.add(source)
        previous = manifest.files.get(source)
        try:
            data = path.read_bytes()
        except OSError as err:
            denied = Message(N_("permission denied"))
            problem = denied if isinstance(err, PermissionError) else Message(str(err))
            report.outcomes.append(FileOutcome.failed(source, problem))
            continue
        digest = file_digest(path, data)
        if previous is not None and previous.hash == digest:
            report.outcomes.append(FileOutcome(source, "unchanged", previous.chunk_count))
        else:
            pending.append(_PendingFile(path, source, digest, len(data), previous))
    for source in sorted(set(manifest.files) - seen):
        if any(_is_within(source_path(source, documents_root), root) for root in roots):
            chunk_count = manifest.files[source].chunk_count
            report.outcomes.append(FileOutcome(source, "removed", chunk_count))
    return pending


def _apply(
    knowledge_base: KnowledgeBase,
    pending: list[_PendingFile],
    embedder: Embedder,
    settings: Settings,
    report: IngestReport,
    progress: _Progress,
) -> bool:
    """Load, chunk and embed pending files and remove vanished ones; True if anything changed."""
    manifest = knowledge_base.manifest
    removed = [outcome.source for outcome in report.outcomes if outcome.status == "removed"]
    for source in removed:
        knowledge_base.remove(manifest.files.pop(source).chunk_ids)

    splitter = make_splitter(settings.chunking, embedder)
    chunked: list[tuple[_PendingFile, list[Document]]] = []
    with IsolatedLoader(settings.ingest) as loader:  # a hostile file fails alone
        for number, item in enumerate(pending):
            with stage(tracer, "load", _file_attributes(number, item)) as span:
                current().content(span, "ragchat.file.source", item.source)
                try:
                    document = loader.load(item.path, item.source)
                except LoaderError as err:
                    report.outcomes.append(FileOutcome.failed(item.source, err))
                    continue
            with stage(tracer, "chunk", _file_attributes(number, item)) as span:
                chunks = add_languages(splitter.chunk_document(document))
                span.set_attribute("ragchat.chunks", len(chunks))
            chunked.append((item, chunks))

    vectors = _reusable_vectors(knowledge_base, [item for item, _ in chunked])
    new_texts = {c.metadata["hash"]: c.page_content for _, chunks in chunked for c in chunks}
    to_embed = _new_texts_by_file(chunked, vectors)
    embedded = sum(len(texts) for texts in to_embed)
    report.reused = sum(len(chunks) for _, chunks in chunked) - embedded
    _embed_into(vectors, to_embed, embedder, settings.embedding.batch_size, progress)
    _add_sentence_vectors(vectors, new_texts, embedder)
    report.embedded = embedded

    for number, (item, chunks) in enumerate(chunked):
        with stage(
            tracer, "add", {**_file_attributes(number, item), "ragchat.chunks": len(chunks)}
        ):
            if item.previous is not None:
                knowledge_base.remove(item.previous.chunk_ids)
            ids = [_chunk_id(item.source, chunk) for chunk in chunks]
            found = [vectors[c.metadata["hash"]] for c in chunks]
            windows, sentences = [v.window for v in found], [v.sentences for v in found]
            knowledge_base.add(ids, chunks, windows, sentences)
            manifest.files[item.source] = FileRecord(item.digest, item.size, ids, time.time())
        report.outcomes.append(FileOutcome(item.source, _status_of(item), len(chunks)))
    return bool(removed or chunked)


def _file_attributes(number: int, item: _PendingFile) -> dict[str, AttributeValue]:
    """What a file's stage spans say about it without naming it (`tracing.include_content`
    adds its name on `load`): its place in this run, its type and size."""
    return {
        "ragchat.file.number": number,
        "ragchat.file.type": item.path.suffix.lower(),
        "ragchat.file.bytes": item.size,
    }


def _new_texts_by_file(
    chunked: list[tuple[_PendingFile, list[Document]]], vectors: dict[str, _ChunkVectors]
) -> list[list[tuple[str, str]]]:
    """For each file, the (hash, text) of its chunks to embed: not stored already, and not
    met in an earlier file of this run (each text is embedded once)."""
    seen = set(vectors)
    by_file: list[list[tuple[str, str]]] = []
    for _item, chunks in chunked:
        texts = {
            c.metadata["hash"]: c.page_content for c in chunks if c.metadata["hash"] not in seen
        }
        seen.update(texts)
        by_file.append(list(texts.items()))
    return by_file


@dataclass(frozen=True)
class _ChunkVectors:
    """What embedding a chunk's text gives: its vector and its sentence units' vectors
    (encoded as the index keeps them; None until `_add_sentence_vectors` for a window vector
    reused from an index written before they were kept)."""

    window: np.ndarray
    sentences: bytes | None


def _reusable_vectors(
    knowledge_base: KnowledgeBase, items: list[_PendingFile]
) -> dict[str, _ChunkVectors]:
    """Stored vectors of the old chunks of changed files, keyed by chunk text hash (chunks
    of an index from before sentence vectors were kept have none: `_add_sentence_vectors`)."""
    old_ids = [i for item in items if item.previous for i in item.previous.chunk_ids]
    by_id = knowledge_base.vectors_by_id(old_ids)
    records = knowledge_base.store.fetch(by_id)
    return {
        records[i]["metadata"]["hash"]: _ChunkVectors(
            vector, knowledge_base.encoded_sentence_vectors(records[i])
        )
        for i, vector in by_id.items()
    }


def _add_sentence_vectors(
    vectors: dict[str, _ChunkVectors], texts: dict[str, str], embedder: Embedder
) -> None:
    """Reused window vectors of an index from before sentence vectors were kept get their
    sentence vectors (only the sentences are embedded)."""
    missing = [h for h in texts if h in vectors and vectors[h].sentences is None]
    if not missing:
        return
    encoded = _encoded_sentence_vectors([texts[h] for h in missing], embedder)
    for digest, sentences in zip(missing, encoded, strict=True):
        vectors[digest] = replace(vectors[digest], sentences=sentences)


@dataclass
class _Progress:
    show_bar: bool
    callback: Callable[[int, int], None] | None


def _embed_into(
    vectors: dict[str, _ChunkVectors],
    to_embed: list[list[tuple[str, str]]],
    embedder: Embedder,
    batch_size: int,
    progress: _Progress,
) -> None:
    """Embed each file's new chunks and their sentence units (`to_embed`, file by file: an
    `embed` span each), a batch of chunks at a time."""
    total = sum(len(texts) for texts in to_embed)
    done = 0
    with tqdm(total=total, unit="chunk", desc="embedding", disable=not progress.show_bar) as bar:
        for number, file_texts in enumerate(to_embed):
            if not file_texts:
                continue
            with stage(
                tracer, "embed", {"ragchat.file.number": number, "ragchat.chunks": len(file_texts)}
            ):
                for begin in range(0, len(file_texts), batch_size):
                    batch = file_texts[begin : begin + batch_size]
                    _embed_batch(vectors, batch, embedder)
                    done += len(batch)
                    bar.update(len(batch))
                    if progress.callback:
                        progress.callback(done, total)


def _embed_batch(
    vectors: dict[str, _ChunkVectors], batch: list[tuple[str, str]], embedder: Embedder
) -> None:
    texts = [text for _, text in batch]
    embedded = embedder.embeddings.embed_documents(texts)
    sentences = _encoded_sentence_vectors(texts, embedder)
    for (digest, _), vector, encoded in zip(batch, embedded, sentences, strict=True):
        vectors[digest] = _ChunkVectors(np.asarray(vector, dtype=np.float32), encoded)


def _complete_sentence_vectors(
    knowledge_base: KnowledgeBase, embedder: Embedder, batch_size: int, progress: _Progress
) -> int:
    """Give the chunks of an index written before sentence vectors were kept their sentence
    vectors (their window vectors are reused): the first ingest after the upgrade embeds the
    sentences of every chunk once. Returns how many chunks got them."""
    missing = knowledge_base.store.without_sentence_vectors()
    hidden = not (progress.show_bar and missing)
    with tqdm(total=len(missing), unit="chunk", desc="sentence vectors", disable=hidden) as bar:
        for begin in range(0, len(missing), batch_size):
            ids = missing[begin : begin + batch_size]
            fetched = knowledge_base.documents_by_id(ids)
            chunks = [fetched[i] for i in ids]
            windows = knowledge_base.vectors_by_id(ids)
            sentences = _encoded_sentence_vectors([c.page_content for c in chunks], embedder)
            knowledge_base.remove(ids)
            knowledge_base.add(ids, chunks, [windows[i] for i in ids], sentences)
            bar.update(len(ids))
    return len(missing)


def _encoded_sentence_vectors(texts: list[str], embedder: Embedder) -> list[bytes]:
    """Each text's sentence unit vectors (`text.sentences.sentence_units`), encoded as the
    index keeps them; a sentence shared by overlapping windows is embedded once."""
    most = sentence_unit_limit(embedder.identity.dimension)
    units = [sentence_units(text, most) for text in texts]
    vectors = _embedded_once(embedder, [unit for found in units for unit in found])
    return [
        encode_sentence_vectors(unit_rows(np.array([vectors[unit] for unit in found])))
        for found in units
    ]


def _embedded_once(embedder: Embedder, texts: list[str]) -> dict[str, list[float]]:
    """Each distinct text's vector. Sorted by length, so the embedder's batches (it makes its
    own, `embedding.batch_size`) pad short sentences to short ones."""
    distinct = sorted(set(texts), key=len)
    return dict(zip(distinct, embedder.embeddings.embed_documents(distinct), strict=True))


def file_digest(path: Path, data: bytes | None = None) -> str:
    """The manifest's fingerprint of a file (`data`: its bytes, when already read): its
    content, its tags file's and the metadata version, so a change of any re-indexes it."""
    content = path.read_bytes() if data is None else data
    digest = hashlib.sha256(METADATA_VERSION)
    for part in (content, sidecar_bytes(path)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _status_of(item: _PendingFile) -> Status:
    return "added" if item.previous is None else "updated"


def _chunk_id(source: str, chunk: Document) -> str:
    key = f"{source}\0{chunk.metadata['chunk']}\0{chunk.metadata['hash']}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def forget(
    settings: Settings,
    embedder: Embedder,
    sources: Iterable[str],
    lock_wait_seconds: float = 600.0,
    on_message: Callable[[str], None] = print,
) -> IngestReport:
    """Remove files from the index (not from disk), under the same lock and atomic save."""
    report = IngestReport()
    with _locked_index(settings, embedder, report, False, lock_wait_seconds, on_message) as kb:
        for source in sources:
            record = kb.manifest.files.pop(source, None)
            if record is None:
                report.outcomes.append(FileOutcome.failed(source, Message(N_("not in the index"))))
                continue
            kb.remove(record.chunk_ids)
            report.outcomes.append(FileOutcome(source, "removed", len(record.chunk_ids)))
        report.saved = report.count("removed") > 0
    return report
