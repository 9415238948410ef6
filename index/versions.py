"""The index folder's versions: a new one is written beside the live one and switched in by
replacing CURRENT, so a crash or Ctrl-C at any moment leaves the previous version whole.

Layout::

    INDEX/
      CURRENT            name of the live version folder (replaced with os.replace)
      .lock              held by the one process that writes (`index.lock`)
      v-<time>-<pid>/
        manifest.json    the chunking that made the chunks, and where the store keeps them
        files.json       file -> content hash -> chunk ids, read when first asked (an open for
                         questions does not: `index.manifest`)
        embedder.json    identity of the embedding model that made the vectors
      ...                what the store keeps in the index folder (`index.stores`)

A store on a server (Milvus) also keeps the live version's files itself (`VersionKeeper`),
switched in after its rows and before the folder's CURRENT: replicas share nothing but the
server. There the index folder is a copy of the store's live version, brought up to date
whenever the index is opened or its version asked for with the store's settings (an empty
folder on another machine becomes one); a reader copying a version writes only `v-` folders and
CURRENT, never a writer's staging folder.

Nothing is pickled (LangChain's `FAISS.load_local` unpickles, so an index folder someone hands
you could run code), and every file is read defensively: damage is an `IndexCorruptError`
naming the file and `python ingest.py --repair`, never a traceback.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from config import StoreSettings
from i18n import N_
from index.disk import fsync
from index.embeddings import Embedder
from index.errors import (
    REPAIR_COMMAND,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    damaged,
)
from index.knowledge_base import KnowledgeBase
from index.manifest import open_manifest, read_embedder_identity, write_manifest
from index.stores import backend_of, store_class

CURRENT_FILE = "CURRENT"
VERSION_NAME = re.compile(r"v-[\w.-]+")
"""What CURRENT may name: a version folder beside it, never a path elsewhere."""
COPY_TRIES = 5
"""Times a reader reads the store's live version again when a save replaced it meanwhile."""


class VersionKeeper(Protocol):
    """A store that keeps the live version's files itself, for replicas on other machines."""

    def live(self) -> str | None:
        """The live version's name (None: none kept here yet)."""
        ...

    def read(self, name: str) -> dict[str, str] | None:
        """Its files' texts by name; None when it is no longer live."""
        ...

    def write(self, name: str, files: dict[str, str]) -> None:
        """Keep these files and make `name` the live version in one step."""
        ...


def _milvus_versions(settings: StoreSettings) -> VersionKeeper:
    from index.stores.milvus.versions import MilvusVersions

    return MilvusVersions(settings)


KEEPERS: dict[str, Callable[[StoreSettings], VersionKeeper]] = {"milvus": _milvus_versions}
"""The stores that keep the live version themselves, by `store.backend`; the others (FAISS)
keep it in the index folder only."""


def current_version(folder: Path, store: StoreSettings | None = None) -> Path | None:
    """The live version folder, or None when no index has been written yet (no CURRENT: also
    the state a crash during the very first save leaves). With `store`, a store that keeps the
    live version (Milvus) is asked for it first, and the folder brought up to date; None reads
    the folder alone (what this process itself just saved)."""
    if store is not None and store.backend in KEEPERS:
        _copy_live_version(folder, KEEPERS[store.backend](store))
    pointer = folder / CURRENT_FILE
    try:
        name = pointer.read_bytes().decode("utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise damaged(f"unreadable: {err.strerror}", pointer) from None
    except UnicodeDecodeError:
        raise damaged("not a version name: not text", pointer) from None
    if not name:
        raise damaged("empty", pointer)
    if not VERSION_NAME.fullmatch(name):
        raise damaged(f"not a version name: {name[:60]!r}", pointer)
    if not (folder / name).is_dir():
        raise damaged(f"names {name}, which does not exist", pointer)
    return folder / name


def load_index(
    folder: Path, embedder: Embedder, store: StoreSettings | None = None
) -> KnowledgeBase:
    """Open the live index for `embedder`, refusing one built by another model or kept by
    another store than `store.backend`. A writer may switch versions and remove the old one
    while we read it: then the new one is read."""
    settings = store or StoreSettings()
    version = current_version(folder, settings)
    if version is None:
        raise IndexNotFoundError(
            N_("no index in {folder}: build it with `python ingest.py`"), folder=folder
        )
    try:
        return _read_version(version, embedder, settings)
    except IndexCorruptError:
        if current_version(folder, settings) == version:
            raise
        return load_index(folder, embedder, settings)


def _read_version(version: Path, embedder: Embedder, settings: StoreSettings) -> KnowledgeBase:
    stored = read_embedder_identity(version)
    if stored != embedder.identity:
        raise IndexMismatchError(
            N_(
                "the index in {folder} was built with embedder {stored} (dimension {stored_dim}) "
                "but the configuration asks for {wanted} (dimension {wanted_dim}); vectors of two "
                "models cannot be mixed. Rebuild it with `python ingest.py --rebuild`, or set "
                "embedding.backend/model back."
            ),
            folder=version.parent,
            stored=f"{stored.backend}:{stored.model}",
            stored_dim=stored.dimension,
            wanted=f"{embedder.identity.backend}:{embedder.identity.model}",
            wanted_dim=embedder.identity.dimension,
        )
    manifest = open_manifest(version)  # the file list is read when asked, not to answer
    backend = backend_of(manifest)
    if backend != settings.backend:
        raise IndexMismatchError(
            N_(
                "the index in {folder} keeps its chunks in store {stored!r} but the "
                "configuration asks for store.backend = {wanted!r}; rebuild it with "
                "`python ingest.py --rebuild`, or set store.backend back"
            ),
            folder=version.parent,
            stored=backend,
            wanted=settings.backend,
        )
    store = store_class(backend).open(version, manifest, embedder, settings)
    return KnowledgeBase(store, manifest, embedder.identity, embedder.embeddings)


def save_index(knowledge_base: KnowledgeBase, folder: Path) -> Path:
    """Have the store make its changes durable, then write a new version beside the live one
    and switch CURRENT to it in one rename."""
    knowledge_base.check_consistent()
    folder.mkdir(parents=True, exist_ok=True)
    knowledge_base.manifest.store = knowledge_base.store.save(folder)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    staging = folder / f".staging-{name}"
    staging.mkdir()
    knowledge_base.manifest.updated_at = time.time()
    write_manifest(staging, knowledge_base.manifest, knowledge_base.identity)
    for written in staging.iterdir():
        fsync(written)
    version = folder / name
    staging.rename(version)
    store = knowledge_base.store.settings
    if store.backend in KEEPERS:
        files = {f.name: f.read_text(encoding="utf-8") for f in version.iterdir()}
        KEEPERS[store.backend](store).write(name, files)
    _switch(folder, name, f".{CURRENT_FILE}.staging")
    _remove_stale_versions(folder, keep=name)
    knowledge_base.store.clean_up(folder)
    return version


def _switch(folder: Path, name: str, staging: str) -> None:
    """CURRENT names `name`, replaced in one rename."""
    pointer_staging = folder / staging
    pointer_staging.write_text(name, encoding="utf-8")
    fsync(pointer_staging)
    os.replace(pointer_staging, folder / CURRENT_FILE)
    fsync(folder)


def _copy_live_version(folder: Path, keeper: VersionKeeper) -> None:
    """The store's live version copied into the folder and named by CURRENT, unless it is
    there already (or the store keeps none yet: an index saved before stores kept it)."""
    for _ in range(COPY_TRIES):
        name = keeper.live()
        if name is None:
            return
        if not VERSION_NAME.fullmatch(name):
            raise IndexCorruptError(
                N_("the store names as live version {name!r}, not a version name; run `{repair}`"),
                name=name[:60],
                repair=REPAIR_COMMAND,
            )
        if _named(folder) == name and (folder / name).is_dir():
            return
        files = keeper.read(name)
        if files is not None:
            _copy_version(folder, name, files)
            return
    raise IndexBusyError(
        N_("the index's live version changed {count} times while it was read; try again"),
        count=COPY_TRIES,
    )


def _named(folder: Path) -> str:
    """What CURRENT names, read leniently ("" when it cannot be read): it is about to be
    replaced if it is not the store's live version."""
    try:
        return (folder / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _copy_version(folder: Path, name: str, files: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{time.time_ns()}"
    staging = folder / f".copy-{name}-{tag}"
    staging.mkdir()
    for file, text in files.items():
        (staging / file).write_text(text, encoding="utf-8")
        fsync(staging / file)
    try:
        staging.rename(folder / name)
    except OSError:  # copied already by another process on this machine
        shutil.rmtree(staging, ignore_errors=True)
    _switch(folder, name, f".{CURRENT_FILE}.copy-{tag}")
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.startswith("v-") and entry.name != name:
            shutil.rmtree(entry, ignore_errors=True)


def _remove_stale_versions(folder: Path, keep: str) -> None:
    """Old versions and leftovers of interrupted writes; only called while holding the lock.

    Only the live version is kept, not the previous one as a fallback: opening an older
    version when the live one is damaged would silently answer from the documents as they
    were (an API client would never see the warning); the documents are the backup, and
    `ingest.py --repair` rebuilds from them beside the damaged version; and a second copy would
    double the disk a large index takes. A reader that loaded a version keeps it in memory.
    """
    for entry in folder.iterdir():
        written = entry.name.startswith(("v-", ".staging-", ".copy-"))
        if entry.is_dir() and entry.name != keep and written:
            shutil.rmtree(entry, ignore_errors=True)


def index_size(folder: Path) -> int:
    """Bytes the index folder takes on disk (with a server store, only what is kept here)."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
