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
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout
from langchain_community.docstore.in_memory import InMemoryDocstore
from langchain_community.vectorstores import FAISS
from langchain_community.vectorstores.utils import DistanceStrategy
from langchain_core.documents import Document

from index.bm25 import Bm25Index, term_counts
from index.embeddings import Embedder, EmbedderIdentity

FORMAT_VERSION = 2
CURRENT_FILE = "CURRENT"
VECTORS_FILE = "vectors.faiss"
DOCSTORE_FILE = "docstore.jsonl"
MANIFEST_FILE = "manifest.json"
EMBEDDER_FILE = "embedder.json"


class IndexStoreError(Exception):
    """Base of the index's errors; the message tells the user what to do."""


class IndexNotFoundError(IndexStoreError):
    pass


class IndexMismatchError(IndexStoreError):
    pass


class IndexCorruptError(IndexStoreError):
    pass


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

    @classmethod
    def from_dict(cls, data: dict) -> Manifest:
        if data.get("format") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"the index was written in format {data.get('format')} but this ragchat reads "
                f"format {FORMAT_VERSION}; rebuild it with `python ingest.py --rebuild`"
            )
        files = {source: FileRecord(**record) for source, record in data["files"].items()}
        return cls(chunking=data["chunking"], files=files, updated_at=data["updated_at"])


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

    def check_consistent(self) -> None:
        """Vectors, docstore and manifest must describe the same chunks."""
        store = self.vectorstore
        manifest_ids = {i for record in self.manifest.files.values() for i in record.chunk_ids}
        docstore_ids = set(store.index_to_docstore_id.values())
        if not (self.vector_count == len(store.index_to_docstore_id) == len(manifest_ids)):
            raise IndexCorruptError(
                f"index is inconsistent: {self.vector_count} vectors, "
                f"{len(store.index_to_docstore_id)} docstore entries, "
                f"{len(manifest_ids)} chunks in the manifest"
            )
        if manifest_ids != docstore_ids or set(self.terms) != docstore_ids:
            raise IndexCorruptError(
                "index is inconsistent: manifest and docstore list other chunks"
            )


def current_version(folder: Path) -> Path | None:
    """The live version folder, or None when no index has been written yet."""
    pointer = folder / CURRENT_FILE
    if not pointer.exists():
        return None
    return folder / pointer.read_text(encoding="utf-8").strip()


def read_embedder_identity(version: Path) -> EmbedderIdentity:
    return EmbedderIdentity(**_read_json(version / EMBEDDER_FILE))


def read_manifest(version: Path) -> Manifest:
    return Manifest.from_dict(_read_json(version / MANIFEST_FILE))


def load_index(folder: Path, embedder: Embedder) -> KnowledgeBase:
    """Open the live index for `embedder`, refusing one built by another model."""
    version = current_version(folder)
    if version is None:
        raise IndexNotFoundError(f"no index in {folder}: build it with `python ingest.py`")
    stored = read_embedder_identity(version)
    if stored != embedder.identity:
        raise IndexMismatchError(
            f"the index in {folder} was built with embedder {stored.backend}:{stored.model} "
            f"(dimension {stored.dimension}) but the configuration asks for "
            f"{embedder.identity.backend}:{embedder.identity.model} "
            f"(dimension {embedder.identity.dimension}); vectors of two models cannot be mixed. "
            "Rebuild it with `python ingest.py --rebuild`, or set embedding.backend/model back."
        )
    return _read_version(version, embedder)


def _read_version(version: Path, embedder: Embedder) -> KnowledgeBase:
    try:
        manifest = read_manifest(version)
        index = faiss.read_index(str(version / VECTORS_FILE))
        documents = [json.loads(line) for line in _lines(version / DOCSTORE_FILE)]
        terms = {d["id"]: d["terms"] for d in documents}
    except IndexMismatchError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as err:
        raise IndexCorruptError(
            f"cannot read index version {version}: {err}. Rebuild with `python ingest.py --rebuild`"
        ) from err
    docstore = InMemoryDocstore(
        {
            d["id"]: Document(id=d["id"], page_content=d["text"], metadata=d["metadata"])
            for d in documents
        }
    )
    vectorstore = FAISS(
        embedding_function=embedder.embeddings,
        index=index,
        docstore=docstore,
        index_to_docstore_id={row: d["id"] for row, d in enumerate(documents)},
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )
    knowledge_base = KnowledgeBase(vectorstore, manifest, embedder.identity, terms)
    knowledge_base.check_consistent()
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
    """Old versions and leftovers of interrupted writes; only called while holding the lock."""
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


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise IndexCorruptError(f"cannot read {path}: {err}") from err


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as lines:
        yield from (line for line in lines if line.strip())


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
