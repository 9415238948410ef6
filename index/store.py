"""The index on disk: a version folder, safe to open, switched atomically, and its store.

Layout::

    INDEX/
      CURRENT            name of the live version folder (replaced with os.replace)
      .lock              held by the one process that writes
      v-<time>-<pid>/
        manifest.json    file -> content hash -> chunk ids, the chunking that made them, and
                         where the store keeps them (FAISS segments, or a Milvus collection)
        embedder.json    identity of the embedding model that made the vectors
      segments/          the `faiss` store's files (index/stores/faiss_segments.py)

The chunks and their vectors live in a store chosen by `store.backend` (`index.stores`): FAISS
segments in this folder, or a Milvus collection. `KnowledgeBase` is the same for both: the
retriever, ingest, the app and the API never know which one holds their chunks.

Nothing is pickled: LangChain's `FAISS.load_local` unpickles its docstore, so an index folder
someone hands you could run code. A new version is written beside the live one and switched in
by replacing CURRENT, so a crash or Ctrl-C at any moment leaves the previous version whole.

Every file is read defensively: one that is missing, cut short, not JSON or of the wrong shape
is an `IndexCorruptError` that names the file and the command that rebuilds it
(`python ingest.py --repair`), never a traceback from FAISS, json or a KeyError.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import NotRequired, Protocol, TypeVar, runtime_checkable

import faiss
import numpy as np
from filelock import FileLock, Timeout
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from config import StoreSettings
from errors import RagchatError
from index.bm25 import Bm25Index, term_counts
from index.embeddings import Embedder, EmbedderIdentity
from text.language import main_language
from text.sentences import MAX_SENTENCE_UNITS

log = logging.getLogger(__name__)

FORMAT_VERSION = 3
READABLE_FORMATS = (2, 3)
"""Format 2 kept its vectors and docstore in the version folder; it opens as one FAISS segment
and the next save writes format 3."""
CURRENT_FILE = "CURRENT"
VECTORS_FILE = "vectors.faiss"
DOCSTORE_FILE = "docstore.jsonl"
MANIFEST_FILE = "manifest.json"
EMBEDDER_FILE = "embedder.json"
REPAIR_COMMAND = "python ingest.py --repair"
VERSION_NAME = re.compile(r"v-[\w.-]+")
"""What CURRENT may name: a version folder beside it, never a path elsewhere."""


class IndexStoreError(RagchatError):
    """Base of the index's errors; the message tells the user what to do."""

    code = "index_unavailable"
    http_status = 503


class IndexNotFoundError(IndexStoreError):
    """No index has been built yet."""

    code = "index_not_found"


class IndexMismatchError(IndexStoreError):
    """The index was built by another embedder, or by an unknown format version."""

    code = "index_mismatch"


class IndexCorruptError(IndexStoreError):
    """A file of the live version cannot be read, or disagrees with the others (see `damaged`)."""

    code = "index_damaged"


class IndexBusyError(IndexStoreError):
    """Another process holds the index's writer lock."""

    code = "index_busy"


@dataclass
class FileRecord:
    """What the index holds for one source file."""

    hash: str
    size: int
    chunk_ids: list[str]
    indexed_at: float


@dataclass
class Manifest:
    """Which files are indexed, their content hashes and chunk ids, how they were chunked, and
    where the store keeps them (`store`: its backend's own description, e.g. segment names)."""

    chunking: dict
    files: dict[str, FileRecord] = field(default_factory=dict)
    updated_at: float = 0.0
    store: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """As written to manifest.json; built by hand because `dataclasses.asdict` deep-copies
        every chunk id (0.9 s of a one-file update at a million chunks)."""
        files = {source: vars(record) for source, record in self.files.items()}
        return {
            "format": FORMAT_VERSION,
            "chunking": self.chunking,
            "files": files,
            "updated_at": self.updated_at,
            "store": self.store,
        }

    def chunk_ids(self) -> set[str]:
        return {i for record in self.files.values() for i in record.chunk_ids}


@with_config(ConfigDict(extra="allow"))
class ChunkMetadata(TypedDict):
    """What every chunk's metadata must hold (the loaders add page, start, end, ...)."""

    source: str
    hash: str


class ChunkRecord(TypedDict):
    """One chunk as a store keeps it (a line of a FAISS segment's docstore.jsonl)."""

    id: str
    text: str
    metadata: ChunkMetadata
    terms: dict[str, int]
    sentences: NotRequired[str]
    """The vectors of its sentence units (`encode_sentence_vectors`); absent in indexes from
    before they were kept."""


_MANIFEST = TypeAdapter(Manifest)
_IDENTITY = TypeAdapter(EmbedderIdentity)
_CHUNK = TypeAdapter(ChunkRecord)


@runtime_checkable  # the retriever (pydantic) checks its knowledge base's fields by isinstance
class ChunkStore(Protocol):
    """Where a knowledge base's chunks and vectors are kept and searched (`index.stores`).
    Changes are made by `add` and `delete` and are durable once `save` returns."""

    def add(self, records: list[ChunkRecord], vectors: np.ndarray) -> None: ...

    def delete(self, ids: Collection[str]) -> None: ...

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None) -> list[str]:
        """Ids of the `k` chunks closest to `vector` (inner product), best first; `allowed`:
        only these."""
        ...

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `ids` it holds."""
        ...

    def count(self) -> int: ...

    def save(self, knowledge_base: KnowledgeBase, folder: Path) -> dict:
        """Make every change durable, before the manifest that lists them is switched in;
        returns the manifest's `store` entry."""
        ...

    def clean_up(self, folder: Path) -> None:
        """After the switch: remove what the live version no longer refers to."""
        ...


def chunk_language(metadata: Mapping, text: str) -> str:
    """The language a chunk was given at ingest (chunks of indexes older than that: measured
    now)."""
    return metadata.get("language") or main_language(text)


SENTENCE_VECTOR_BYTES = 36_000
"""The most bytes of sentence vectors a chunk keeps: base64 and the chunk's other metadata
stay within a Milvus JSON field (64 KiB)."""


def sentence_unit_limit(dimension: int) -> int:
    """The most sentence units (`text.sentences.sentence_units`) a chunk of an embedder of
    this dimension keeps a vector for: 23 at 768 dimensions, 32 (`MAX_SENTENCE_UNITS`) below."""
    return max(1, min(MAX_SENTENCE_UNITS, SENTENCE_VECTOR_BYTES // (2 * dimension)))


def encode_sentence_vectors(vectors: np.ndarray) -> bytes:
    """A chunk's sentence vectors (unit rows) as float16: half of float32's size, and reranking
    by them orders passages as float32 does (int8 swapped near-ties: errors of 6e-4)."""
    return np.asarray(vectors, dtype="<f2").tobytes()


def decode_sentence_vectors(data: bytes, dimension: int) -> np.ndarray:
    """The float32 rows `encode_sentence_vectors` encoded; ValueError when `data` is not
    that."""
    if not data or len(data) % (2 * dimension):
        raise ValueError(f"{len(data)} bytes are not rows of {dimension} float16 numbers")
    return np.frombuffer(data, dtype="<f2").reshape(-1, dimension).astype(np.float32)


def record_of(
    document: Document, terms: dict[str, int], sentence_vectors: bytes | None = None
) -> ChunkRecord:
    record: ChunkRecord = {
        "id": str(document.id),
        "text": document.page_content,
        "metadata": document.metadata,  # type: ignore[typeddict-item]
        "terms": terms,
    }
    if sentence_vectors is not None:
        record["sentences"] = base64.b64encode(sentence_vectors).decode("ascii")
    return record


@dataclass
class KnowledgeBase:
    """The live index in memory: its chunks, their BM25 term counts, the manifest, and the
    store that keeps their vectors. Change it only through `add` and `remove`, which keep them
    in step."""

    store: ChunkStore
    manifest: Manifest
    identity: EmbedderIdentity
    embeddings: Embeddings
    chunks: dict[str, Document] = field(default_factory=dict)
    """Every chunk by id; their order is the rows of the BM25 index."""
    terms: dict[str, dict[str, int]] = field(default_factory=dict)
    sentence_vectors: dict[str, bytes] = field(default_factory=dict)
    """Each chunk's sentence vectors, encoded (`encode_sentence_vectors`): computed at ingest
    with the chunk's own vector, read by reranking and citation support."""
    language_counts: Counter[str] = field(default_factory=Counter)
    """Chunks per language (`zh`, `en`), from the `language` each chunk got at ingest: what the
    translation policy reads (`language_shares`), kept up to date by `add` and `remove`."""
    _bm25: Bm25Index | None = field(default=None, repr=False)
    _ids: list[str] | None = field(default=None, repr=False)

    @classmethod
    def empty(
        cls, embedder: Embedder, chunking: dict, store: StoreSettings | None = None
    ) -> KnowledgeBase:
        from index.stores import store_type  # the stores are built on this module

        settings = store or StoreSettings()
        vectors = store_type(settings.backend).create(embedder, settings)
        return cls(vectors, Manifest(chunking=chunking), embedder.identity, embedder.embeddings)

    @classmethod
    def of_records(
        cls,
        store: ChunkStore,
        manifest: Manifest,
        embedder: Embedder,
        records: Iterable[ChunkRecord],
    ) -> KnowledgeBase:
        """A knowledge base over the chunks a store has read back."""
        knowledge_base = cls(store, manifest, embedder.identity, embedder.embeddings)
        for r in records:
            knowledge_base.chunks[r["id"]] = Document(
                id=r["id"], page_content=r["text"], metadata=dict(r["metadata"])
            )
            knowledge_base.terms[r["id"]] = r["terms"]
            knowledge_base.language_counts[chunk_language(r["metadata"], r["text"])] += 1
            if "sentences" in r:
                knowledge_base._keep_sentence_vectors(r["id"], r["sentences"])
        return knowledge_base

    def _keep_sentence_vectors(self, chunk_id: str, encoded: str) -> None:
        """Keep a record's sentence vectors; damaged ones are left out (and embedded again when
        needed), since they are a cache of what the chunk's text gives."""
        try:
            data = base64.b64decode(encoded, validate=True)
            decode_sentence_vectors(data, self.identity.dimension)
        except (binascii.Error, ValueError) as err:
            log.warning("chunk %s: sentence vectors unreadable (%s), left out", chunk_id, err)
            return
        self.sentence_vectors[chunk_id] = data

    def add(
        self,
        ids: list[str],
        chunks: list[Document],
        vectors: list[np.ndarray],
        sentence_vectors: Sequence[bytes | None] | None = None,
    ) -> None:
        """Add chunks with their vectors and encoded sentence vectors (None: none kept); their
        BM25 terms are counted here, once per text."""
        counted: dict[str, dict[str, int]] = {}  # chunks with the same text share one count
        records = []
        sentences = sentence_vectors or [None] * len(ids)
        for chunk_id, chunk, encoded in zip(ids, chunks, sentences, strict=True):
            digest = chunk.metadata["hash"]
            if digest not in counted:
                counted[digest] = term_counts(chunk.page_content)
            document = Document(
                id=chunk_id, page_content=chunk.page_content, metadata=chunk.metadata
            )
            self.chunks[chunk_id] = document
            self.terms[chunk_id] = counted[digest]
            self.language_counts[chunk_language(chunk.metadata, chunk.page_content)] += 1
            if encoded is not None:
                self.sentence_vectors[chunk_id] = encoded
            records.append(self.record(chunk_id))
        if records:
            dimension = self.identity.dimension
            self.store.add(records, np.asarray(vectors, dtype=np.float32).reshape(-1, dimension))
        self._changed()

    def remove(self, ids: list[str]) -> None:
        if ids:
            self.store.delete(ids)
            for chunk_id in ids:
                removed = self.chunks.pop(chunk_id)
                del self.terms[chunk_id]
                self.sentence_vectors.pop(chunk_id, None)
                self.language_counts[chunk_language(removed.metadata, removed.page_content)] -= 1
            self._changed()

    def record(self, chunk_id: str) -> ChunkRecord:
        """The chunk as the stores keep it."""
        chunk = self.chunks[chunk_id]
        return record_of(chunk, self.terms[chunk_id], self.sentence_vectors.get(chunk_id))

    def sentence_vectors_of(self, chunk_id: str) -> np.ndarray | None:
        """The unit vectors of the chunk's sentence units, if the index keeps them."""
        data = self.sentence_vectors.get(chunk_id)
        return None if data is None else decode_sentence_vectors(data, self.identity.dimension)

    def _changed(self) -> None:
        self._bm25 = None
        self._ids = None

    @property
    def language_shares(self) -> dict[str, float]:
        """The share of chunks written in each language."""
        total = sum(self.language_counts.values()) or 1
        return {language: n / total for language, n in self.language_counts.items() if n > 0}

    @property
    def ids(self) -> list[str]:
        """Chunk ids in the row order of `bm25`."""
        if self._ids is None:
            self._ids = list(self.chunks)
        return self._ids

    @property
    def bm25(self) -> Bm25Index:
        """Keyword index over the chunks, rows in `ids` order; built when first needed."""
        if self._bm25 is None:
            self._bm25 = Bm25Index([self.terms[i] for i in self.ids])
        return self._bm25

    def document(self, chunk_id: str) -> Document:
        return self.chunks[chunk_id]

    @property
    def vector_count(self) -> int:
        return len(self.chunks)

    def documents(self) -> Iterator[Document]:
        """Every chunk, in row order."""
        yield from self.chunks.values()

    def search(
        self, vector: np.ndarray | list[float], k: int, allowed: Collection[str] | None = None
    ) -> list[str]:
        """The ids of the `k` chunks closest to `vector`; `allowed`: only among these."""
        if not self.chunks or (allowed is not None and not allowed):
            return []
        return self.store.search(np.asarray(vector, dtype=np.float32), k, allowed)

    def similarity_search(self, query: str, k: int = 4) -> list[Document]:
        """The `k` chunks closest in meaning to `query` (dense search alone)."""
        ids = self.search(self.embeddings.embed_query(query), k)
        return [self.chunks[i] for i in ids]

    def vectors_by_id(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of some chunks, to reuse them instead of embedding again."""
        return self.store.vectors(ids)

    def check_consistent(self) -> None:
        """The store, the chunks and the manifest must describe the same chunks: in memory
        this is a bug, not damage on disk (the stores check what they read)."""
        problem = ""
        if self.store.count() != len(self.chunks):
            problem = f"{self.store.count()} vectors but {len(self.chunks)} chunks"
        elif (
            self.manifest.chunk_ids() != set(self.chunks) or self.terms.keys() != self.chunks.keys()
        ):
            problem = "the manifest lists other chunks"
        if problem:
            raise IndexCorruptError(f"index is inconsistent: {problem}")


def index_size(folder: Path) -> int:
    """Bytes the index folder takes on disk (with Milvus, only what is kept here)."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


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
    if isinstance(written, int) and written not in READABLE_FORMATS:
        raise IndexMismatchError(
            f"the index was written in format {written} but this ragchat reads formats "
            f"{', '.join(map(str, READABLE_FORMATS))}; rebuild it with "
            "`python ingest.py --rebuild`"
        )
    if written not in READABLE_FORMATS:
        raise damaged("no format number: not a ragchat manifest", path)
    assert isinstance(data, dict)
    if written == 2:  # its chunks are in the version folder: one FAISS segment
        data = {**data, "store": {"backend": "faiss", "segments": {}, "format2": True}}
    missing = [f.name for f in fields(Manifest) if f.name not in data]
    if missing:  # the dataclass has defaults for a new manifest; one on disk has every field
        raise damaged(f"wrong shape: {', '.join(missing)}: Field required", path)
    return _validated(_MANIFEST, data, path)


def read_vectors(folder: Path) -> faiss.Index:
    path = folder / VECTORS_FILE
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


def read_docstore(folder: Path) -> list[ChunkRecord]:
    """Every chunk record, in vector order; a line that is not one is named by its number."""
    path = folder / DOCSTORE_FILE
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


def load_index(
    folder: Path, embedder: Embedder, store: StoreSettings | None = None
) -> KnowledgeBase:
    """Open the live index for `embedder`, refusing one built by another model or kept by
    another store than `store.backend`. A writer may switch versions and remove the old one
    while we read it: then the new one is read."""
    version = current_version(folder)
    if version is None:
        raise IndexNotFoundError(f"no index in {folder}: build it with `python ingest.py`")
    try:
        return _read_version(version, embedder, store or StoreSettings())
    except IndexCorruptError:
        if current_version(folder) == version:
            raise
        return load_index(folder, embedder, store)


def _read_version(version: Path, embedder: Embedder, settings: StoreSettings) -> KnowledgeBase:
    from index.stores import store_type  # the stores are built on this module

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
    backend = manifest.store.get("backend", "faiss")
    if backend != settings.backend:
        raise IndexMismatchError(
            f"the index in {version.parent} keeps its chunks in store {backend!r} but the "
            f"configuration asks for store.backend = {settings.backend!r}; rebuild it with "
            "`python ingest.py --rebuild`, or set store.backend back"
        )
    return store_type(backend).load(version, manifest, embedder, settings)


def save_index(knowledge_base: KnowledgeBase, folder: Path) -> Path:
    """Have the store make its changes durable, then write a new version beside the live one
    and switch CURRENT to it in one rename."""
    knowledge_base.check_consistent()
    folder.mkdir(parents=True, exist_ok=True)
    knowledge_base.manifest.store = knowledge_base.store.save(knowledge_base, folder)
    name = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    staging = folder / f".staging-{name}"
    staging.mkdir()
    knowledge_base.manifest.updated_at = time.time()
    manifest = json.dumps(knowledge_base.manifest.to_dict(), ensure_ascii=False)  # compact: large
    (staging / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
    _write_json(staging / EMBEDDER_FILE, knowledge_base.identity.to_dict())
    for written in staging.iterdir():
        fsync(written)
    version = folder / name
    staging.rename(version)
    pointer_staging = folder / f".{CURRENT_FILE}.staging"
    pointer_staging.write_text(name, encoding="utf-8")
    fsync(pointer_staging)
    os.replace(pointer_staging, folder / CURRENT_FILE)
    fsync(folder)
    _remove_stale_versions(folder, keep=name)
    knowledge_base.store.clean_up(folder)
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


def fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
