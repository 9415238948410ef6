"""The index on disk: one folder, safe to open, replaced atomically.

Layout::

    INDEX/
      CURRENT            name of the live version folder (replaced with os.replace)
      .lock              held by the one process that writes
      v-<time>-<pid>/
        vectors.faiss    FAISS's own binary format (faiss.write_index)
        docstore.jsonl   one chunk per line, in vector order: id, text, metadata, BM25 terms
        manifest.json    file -> content hash -> chunk ids, and the chunking that made them
        embedder.json    identity of the embedding model that made the vectors

Nothing is pickled: LangChain's `FAISS.load_local` unpickles its docstore, so an index folder
someone hands you could run code. Here we write and read the same FAISS wrapper's parts in
plain formats instead. A new version is written beside the live one and switched in by
replacing CURRENT, so a crash or Ctrl-C at any moment leaves the previous version whole.

Every file is read defensively: one that is missing, cut short, not JSON or of the wrong shape
is an `IndexCorruptError` that names the file and the command that rebuilds it
(`python ingest.py --repair`), never a traceback from FAISS, json or a KeyError.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TypeVar

import faiss
import numpy as np
from filelock import FileLock, Timeout
from langchain_community.docstore.in_memory import InMemoryDocstore
from langchain_community.vectorstores import FAISS
from langchain_community.vectorstores.utils import DistanceStrategy
from langchain_core.documents import Document
from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from index.bm25 import Bm25Index, term_counts
from index.embeddings import Embedder, EmbedderIdentity

FORMAT_VERSION = 2
CURRENT_FILE = "CURRENT"
VECTORS_FILE = "vectors.faiss"
DOCSTORE_FILE = "docstore.jsonl"
MANIFEST_FILE = "manifest.json"
EMBEDDER_FILE = "embedder.json"
REPAIR_COMMAND = "python ingest.py --repair"
VERSION_NAME = re.compile(r"v-[\w.-]+")
"""What CURRENT may name: a version folder beside it, never a path elsewhere."""


class IndexStoreError(Exception):
    """Base of the index's errors; the message tells the user what to do."""


class IndexNotFoundError(IndexStoreError):
    pass


class IndexMismatchError(IndexStoreError):
    pass


class IndexCorruptError(IndexStoreError):
    """A file of the live version cannot be read, or disagrees with the others (see `damaged`)."""


class IndexBusyError(IndexStoreError):
    pass


@dataclass
class FileRecord:
    """What the index holds for one source file."""

    hash: str
    size: int
    chunk_ids: list[str]
    indexed_at: float


@dataclass
class Manifest:
    """Which files are indexed, their content hashes and chunk ids, and how they were chunked."""

    chunking: dict
    files: dict[str, FileRecord] = field(default_factory=dict)
    updated_at: float = 0.0

    def to_dict(self) -> dict:
        return {"format": FORMAT_VERSION, **asdict(self)}


@with_config(ConfigDict(extra="allow"))
class ChunkMetadata(TypedDict):
    """What every chunk's metadata must hold (the loaders add page, start, end, ...)."""

    source: str
    hash: str


class ChunkRecord(TypedDict):
    """One line of docstore.jsonl."""

    id: str
    text: str
    metadata: ChunkMetadata
    terms: dict[str, int]


_MANIFEST = TypeAdapter(Manifest)
_IDENTITY = TypeAdapter(EmbedderIdentity)
_CHUNK = TypeAdapter(ChunkRecord)


@dataclass
class KnowledgeBase:
    """The live index in memory: LangChain's FAISS vector store, the BM25 term counts of every
    chunk, and the manifest. Change it only through `add` and `remove`, which keep them in step."""

    vectorstore: FAISS
    manifest: Manifest
    identity: EmbedderIdentity
    terms: dict[str, dict[str, int]] = field(default_factory=dict)
    _bm25: Bm25Index | None = field(default=None, repr=False)

    @classmethod
    def empty(cls, embedder: Embedder, chunking: dict) -> KnowledgeBase:
        vectorstore = FAISS(
            embedding_function=embedder.embeddings,
            index=faiss.IndexFlatIP(embedder.identity.dimension),
            docstore=InMemoryDocstore(),
            index_to_docstore_id={},
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
        return cls(vectorstore, Manifest(chunking=chunking), embedder.identity)

    def add(self, ids: list[str], chunks: list[Document], vectors: list[np.ndarray]) -> None:
        """Add chunks with their vectors; their BM25 terms are counted here, once per text."""
        self.vectorstore.add_embeddings(
            [(c.page_content, v.tolist()) for c, v in zip(chunks, vectors, strict=True)],
            metadatas=[c.metadata for c in chunks],
            ids=ids,
        )
        counted: dict[str, dict[str, int]] = {}  # chunks with the same text share one count
        for chunk_id, chunk in zip(ids, chunks, strict=True):
            digest = chunk.metadata["hash"]
            if digest not in counted:
                counted[digest] = term_counts(chunk.page_content)
            self.terms[chunk_id] = counted[digest]
        self._bm25 = None

    def remove(self, ids: list[str]) -> None:
        if ids:
            self.vectorstore.delete(ids)
            for chunk_id in ids:
                del self.terms[chunk_id]
            self._bm25 = None

    @property
    def bm25(self) -> Bm25Index:
        """Keyword index over the chunks, rows in vector order; built when first needed."""
        if self._bm25 is None:
            ids = self.vectorstore.index_to_docstore_id
            self._bm25 = Bm25Index([self.terms[ids[row]] for row in range(self.vector_count)])
        return self._bm25

    def document_at(self, row: int) -> Document:
        store = self.vectorstore
        return store.docstore.search(store.index_to_docstore_id[row])

    @property
    def vector_count(self) -> int:
        return int(self.vectorstore.index.ntotal)

    def documents(self) -> Iterator[Document]:
        """Every chunk, in vector order."""
        for row in range(self.vector_count):
            yield self.document_at(row)

    def vectors_by_id(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of some chunks, to reuse them instead of embedding again."""
        rows = {chunk_id: row for row, chunk_id in self.vectorstore.index_to_docstore_id.items()}
        return {i: self.vectorstore.index.reconstruct(rows[i]) for i in ids if i in rows}

    def check_consistent(self, version: Path | None = None) -> None:
        """Vectors, docstore and manifest must describe the same chunks. `version`: the folder
        they were read from, whose files the error then names."""
        store = self.vectorstore
        manifest_ids = {i for record in self.manifest.files.values() for i in record.chunk_ids}
        docstore_ids = set(store.index_to_docstore_id.values())
        rows = len(store.index_to_docstore_id)
        if self.vector_count != rows:
            files = (VECTORS_FILE, DOCSTORE_FILE)
            problem = f"{self.vector_count} vectors but {rows} chunks in the docstore"
        elif rows != len(manifest_ids):
            files = (DOCSTORE_FILE, MANIFEST_FILE)
            problem = f"{rows} chunks in the docstore but {len(manifest_ids)} in the manifest"
        elif manifest_ids != docstore_ids or set(self.terms) != docstore_ids:
            files = (DOCSTORE_FILE, MANIFEST_FILE)
            problem = "they list other chunks"
        else:
            return
        if version is None:  # in memory: a bug, not damage on disk
            raise IndexCorruptError(f"index is inconsistent: {problem}")
        raise damaged(problem, *(version / name for name in files))


def damaged(problem: str, *paths: Path) -> IndexCorruptError:
    """The error for damaged index files: which, how, and the command that rebuilds them."""
    if len(paths) == 1:
        what = f"index file {paths[0]} is damaged"
    else:
        what = f"index files {' and '.join(map(str, paths))} do not match"
    return IndexCorruptError(f"{what} ({problem}); run `{REPAIR_COMMAND}`")


def current_version(folder: Path) -> Path | None:
    """The live version folder, or None when no index has been written yet (no CURRENT: also
    the state a crash during the very first save leaves)."""
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


def read_embedder_identity(version: Path) -> EmbedderIdentity:
    path = version / EMBEDDER_FILE
    return _validated(_IDENTITY, _read_json(path), path)


def read_manifest(version: Path) -> Manifest:
    path = version / MANIFEST_FILE
    data = _read_json(path)
    written = data.get("format") if isinstance(data, dict) else None
    if isinstance(written, int) and written != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index was written in format {written} but this ragchat reads "
            f"format {FORMAT_VERSION}; rebuild it with `python ingest.py --rebuild`"
        )
    if written != FORMAT_VERSION:
        raise damaged("no format number: not a ragchat manifest", path)
    missing = [f.name for f in fields(Manifest) if f.name not in data]
    if missing:  # the dataclass has defaults for a new manifest; one on disk has every field
        raise damaged(f"wrong shape: {', '.join(missing)}: Field required", path)
    return _validated(_MANIFEST, data, path)


def read_vectors(version: Path) -> faiss.Index:
    path = version / VECTORS_FILE
    if not path.is_file():
        raise damaged("missing", path)
    if path.stat().st_size == 0:
        raise damaged("empty", path)
    try:
        return faiss.read_index(str(path))
    except (RuntimeError, MemoryError) as err:
        # FAISS says where in its C++ it gave up; the user needs only what it found
        found = re.search(r"\.(?:cpp|h):\d+: (?:Error: )?(.*)", str(err))
        detail = found.group(1) if found else str(err)
        if "read error" in detail:
            raise damaged("cut short: FAISS expects more data", path) from None
        raise damaged(f"FAISS cannot read it: {detail[:160]}", path) from None


def read_docstore(version: Path) -> list[ChunkRecord]:
    """Every chunk record, in vector order; a line that is not one is named by its number."""
    path = version / DOCSTORE_FILE
    records: list[ChunkRecord] = []
    try:
        with open(path, "rb") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    records.append(_chunk_record(line, number, path))
    except FileNotFoundError:
        raise damaged("missing", path) from None
    except OSError as err:
        raise damaged(f"unreadable: {err.strerror}", path) from None
    ids = [record["id"] for record in records]
    if len(set(ids)) != len(ids):
        raise damaged("a chunk id appears on two lines", path)
    return records


def _chunk_record(line: bytes, number: int, path: Path) -> ChunkRecord:
    try:
        return _CHUNK.validate_json(line.rstrip(b"\r\n"))
    except ValidationError as err:
        problem = err.errors()[0]
        if problem["type"] == "json_invalid":
            detail = (
                problem["msg"].removeprefix("Invalid JSON: ").replace("line 1 column", "column")
            )
            raise damaged(f"line {number} is not JSON: {detail}", path) from None
        raise damaged(f"line {number} is not a chunk: {_describe(err)}", path) from None


def load_index(folder: Path, embedder: Embedder) -> KnowledgeBase:
    """Open the live index for `embedder`, refusing one built by another model. A writer may
    switch versions and remove the old one while we read it: then the new one is read."""
    version = current_version(folder)
    if version is None:
        raise IndexNotFoundError(f"no index in {folder}: build it with `python ingest.py`")
    try:
        return _read_version(version, embedder)
    except IndexCorruptError:
        if current_version(folder) == version:
            raise
        return load_index(folder, embedder)


def _read_version(version: Path, embedder: Embedder) -> KnowledgeBase:
    stored = read_embedder_identity(version)
    if stored != embedder.identity:
        raise IndexMismatchError(
            f"the index in {version.parent} was built with embedder {stored.backend}:"
            f"{stored.model} (dimension {stored.dimension}) but the configuration asks for "
            f"{embedder.identity.backend}:{embedder.identity.model} "
            f"(dimension {embedder.identity.dimension}); vectors of two models cannot be mixed. "
            "Rebuild it with `python ingest.py --rebuild`, or set embedding.backend/model back."
        )
    manifest = read_manifest(version)
    index = read_vectors(version)
    if index.d != stored.dimension:
        raise damaged(
            f"vectors of {index.d} dimensions, the embedder's have {stored.dimension}",
            version / VECTORS_FILE,
            version / EMBEDDER_FILE,
        )
    records = read_docstore(version)
    docstore = InMemoryDocstore(
        {
            r["id"]: Document(id=r["id"], page_content=r["text"], metadata=r["metadata"])
            for r in records
        }
    )
    vectorstore = FAISS(
        embedding_function=embedder.embeddings,
        index=index,
        docstore=docstore,
        index_to_docstore_id={row: r["id"] for row, r in enumerate(records)},
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )
    terms = {r["id"]: r["terms"] for r in records}
    knowledge_base = KnowledgeBase(vectorstore, manifest, embedder.identity, terms)
    knowledge_base.check_consistent(version)
    return knowledge_base


def save_index(knowledge_base: KnowledgeBase, folder: Path) -> Path:
    """Write a new version beside the live one, then switch CURRENT to it in one rename."""
    knowledge_base.check_consistent()
    folder.mkdir(parents=True, exist_ok=True)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    staging = folder / f".staging-{name}"
    staging.mkdir()
    faiss.write_index(knowledge_base.vectorstore.index, str(staging / VECTORS_FILE))
    with open(staging / DOCSTORE_FILE, "w", encoding="utf-8") as out:
        for document in knowledge_base.documents():
            record = {
                "id": document.id,
                "text": document.page_content,
                "metadata": document.metadata,
                "terms": knowledge_base.terms[document.id],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    knowledge_base.manifest.updated_at = time.time()
    _write_json(staging / MANIFEST_FILE, knowledge_base.manifest.to_dict())
    _write_json(staging / EMBEDDER_FILE, knowledge_base.identity.to_dict())
    for written in staging.iterdir():
        _fsync(written)
    version = folder / name
    staging.rename(version)
    pointer_staging = folder / f".{CURRENT_FILE}.staging"
    pointer_staging.write_text(name, encoding="utf-8")
    _fsync(pointer_staging)
    os.replace(pointer_staging, folder / CURRENT_FILE)
    _fsync(folder)
    _remove_stale_versions(folder, keep=name)
    return version


def _remove_stale_versions(folder: Path, keep: str) -> None:
    """Old versions and leftovers of interrupted writes; only called while holding the lock.

    Only the live version is kept, not the previous one as a fallback: opening an older
    version when the live one is damaged would silently answer from the documents as they
    were (an API client would never see the warning); the documents are the backup, and
    `ingest.py --repair` rebuilds from them beside the damaged version; and a second copy would
    double the disk a large index takes. A reader that loaded a version keeps it in memory.
    """
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != keep and entry.name.startswith(("v-", ".staging-")):
            shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def index_lock(
    folder: Path, wait_seconds: float, on_wait: Callable[[str], None] = print
) -> Iterator[None]:
    """Only one writer at a time; a second one says who holds the lock and waits for it."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / ".lock")
    owner_file = folder / ".lock-owner"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = (
            owner_file.read_text(encoding="utf-8") if owner_file.exists() else "another process"
        )
        on_wait(f"the index is being written by {holder}; waiting up to {wait_seconds:.0f} s")
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout:
            raise IndexBusyError(
                f"the index in {folder} is still being written by {holder}; try again later"
            ) from None
    try:
        owner_file.write_text(
            f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}", encoding="utf-8"
        )
        yield
    finally:
        owner_file.unlink(missing_ok=True)
        lock.release()


def _read_json(path: Path) -> object:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise damaged("missing", path) from None
    except OSError as err:
        raise damaged(f"unreadable: {err.strerror}", path) from None
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise damaged("not JSON: not UTF-8 text", path) from None
    except ValueError as err:
        raise damaged(f"not JSON: {err}", path) from None


Parsed = TypeVar("Parsed")


def _validated(adapter: TypeAdapter[Parsed], data: object, path: Path) -> Parsed:
    try:
        return adapter.validate_python(data)
    except ValidationError as err:
        raise damaged(f"wrong shape: {_describe(err)}", path) from None


def _describe(err: ValidationError) -> str:
    """Pydantic's first complaint in one line: where, and what."""
    problem = err.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
