"""What a version of the index holds, kept beside it as JSON: the manifest (the chunking that
made the chunks, where the store keeps them), its file list (file -> content hash -> chunk ids)
and the identity of the embedder that made the vectors, so that an index is never opened with
another model. The file list is a file of its own, read when first asked: it lists every chunk,
and opening an index for questions needs none of it (a Milvus replica then opens in the same time
whatever the corpus)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from index.disk import parse_json, read_json, validated, write_json
from index.embeddings import EmbedderIdentity
from index.errors import IndexMismatchError, damaged

FORMAT_VERSION = 5
READABLE_FORMATS = (2, 3, 4, 5)
"""Format 2 kept its vectors and docstore in the version folder; it opens as one FAISS segment
and the next save writes format 5. Format 3 listed each file's chunk ids as a JSON list; 4
joins them into one string (`FileRecord`); 5 moves the file list out of manifest.json into
files.json."""
FORMAT2_STORE = {"format2": True}
"""The `store` entry a format-2 manifest is read with: it names no store, and its chunks are in
the version folder."""
MANIFEST_FILE = "manifest.json"
FILES_FILE = "files.json"
EMBEDDER_FILE = "embedder.json"


class FileRecord:
    """What the index holds for one source file. Its chunk ids are kept as read, one string
    joined by spaces, until asked for: the manifest lists every chunk of the knowledge base,
    and a process that opens it without needing them (a Milvus replica, `kb.py list`) then
    reads a few large strings instead of making a Python string per chunk (at 100,000 chunks,
    0.06 of the 0.085 s a Milvus reopen took)."""

    __slots__ = ("hash", "size", "indexed_at", "_ids", "_joined")

    def __init__(self, hash: str, size: int, chunk_ids: list[str] | str, indexed_at: float):
        self.hash, self.size, self.indexed_at = hash, size, indexed_at
        self._ids: list[str] | None = None if isinstance(chunk_ids, str) else list(chunk_ids)
        self._joined: str | None = chunk_ids if isinstance(chunk_ids, str) else None

    @property
    def chunk_ids(self) -> list[str]:
        """The file's chunk ids in order (a list the caller may change in place)."""
        if self._ids is None:
            self._ids, self._joined = (self._joined or "").split(), None
        return self._ids

    @chunk_ids.setter
    def chunk_ids(self, ids: list[str]) -> None:
        self._ids, self._joined = list(ids), None

    @property
    def chunk_count(self) -> int:
        if self._ids is not None:
            return len(self._ids)
        return self._joined.count(" ") + 1 if self._joined else 0

    def to_dict(self) -> dict:
        joined = self._joined
        if joined is None:
            joined = " ".join(self.chunk_ids)
            if joined.count(" ") != max(len(self.chunk_ids) - 1, 0):  # ids are hex digests
                raise ValueError(f"a chunk id of {self.chunk_ids} holds a space")
        return {
            "hash": self.hash,
            "size": self.size,
            "chunk_ids": joined,
            "indexed_at": self.indexed_at,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FileRecord):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"FileRecord(hash={self.hash!r}, size={self.size}, chunks={self.chunk_count})"


class _StoredFile(BaseModel):
    """A file's record as the manifest keeps it: chunk ids joined (format 4) or listed."""

    hash: str
    size: int
    chunk_ids: str | list[str]
    indexed_at: float

    def record(self) -> FileRecord:
        return FileRecord(self.hash, self.size, self.chunk_ids, self.indexed_at)


class Manifest:
    """Which files are indexed, their content hashes and chunk ids (`files`), how they were
    chunked, and where the store keeps them (`store`: its backend's own description, e.g.
    segment names). A manifest opened from disk reads its file list at the first use of
    `files`."""

    def __init__(
        self,
        chunking: dict,
        files: dict[str, FileRecord] | None = None,
        updated_at: float = 0.0,
        store: dict | None = None,
        *,
        file_list: FileList | None = None,
    ) -> None:
        self.chunking = chunking
        self.updated_at = updated_at
        self.store = {} if store is None else store
        self._files = {} if files is None and file_list is None else files
        self._file_list = file_list

    @property
    def files(self) -> dict[str, FileRecord]:
        """Source -> record; change it in place (the updater does) or replace it."""
        if self._files is None:
            assert self._file_list is not None
            self._files = self._file_list.read()
        return self._files

    @files.setter
    def files(self, files: dict[str, FileRecord]) -> None:
        self._files, self._file_list = files, None

    def header(self) -> dict:
        """manifest.json: everything but the file list."""
        return {
            "format": FORMAT_VERSION,
            "chunking": self.chunking,
            "updated_at": self.updated_at,
            "store": self.store,
        }

    def file_dicts(self) -> dict[str, dict]:
        """files.json; built by hand: a generic deep copy (`dataclasses.asdict`) would copy
        every chunk id (0.9 s of a one-file update at a million chunks)."""
        return {source: record.to_dict() for source, record in self.files.items()}

    def chunk_ids(self) -> set[str]:
        return {i for record in self.files.values() for i in record.chunk_ids}


class _StoredHeader(BaseModel):
    """manifest.json's shape on disk (format 5), validated before it is trusted."""

    chunking: dict
    updated_at: float
    store: dict


class _StoredManifest(_StoredHeader):
    """manifest.json with the file list inside (formats 2 to 4)."""

    files: dict[str, _StoredFile]

    def manifest(self) -> Manifest:
        return Manifest(self.chunking, _records(self.files), self.updated_at, self.store)


def _records(stored: dict[str, _StoredFile]) -> dict[str, FileRecord]:
    return {source: file.record() for source, file in stored.items()}


class FileList:
    """A version's files.json, opened with its manifest and read at first use, once (by any
    thread). The file is opened at once: it stays readable when a writer removes the version
    meanwhile (only the live one is kept), so whoever opened a version can still list its
    files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._handle = path.open("rb")
        except FileNotFoundError:
            raise damaged("missing", path) from None
        except OSError as err:
            raise damaged(f"unreadable: {err.strerror}", path) from None
        self._lock = threading.Lock()
        self._records: dict[str, FileRecord] | None = None

    def read(self) -> dict[str, FileRecord]:
        with self._lock:
            if self._records is None:
                try:
                    with self._handle:
                        data = self._handle.read()
                except OSError as err:
                    raise damaged(f"unreadable: {err.strerror}", self.path) from None
                stored = validated(_FILES, parse_json(data, self.path), self.path)
                self._records = _records(stored)
            return self._records

    def __del__(self) -> None:  # never read: let the file go with the manifest
        if hasattr(self, "_handle"):
            self._handle.close()


_MANIFEST = TypeAdapter(_StoredManifest)
_HEADER = TypeAdapter(_StoredHeader)
_FILES = TypeAdapter(dict[str, _StoredFile])
_IDENTITY = TypeAdapter(EmbedderIdentity)


def read_embedder_identity(version: Path) -> EmbedderIdentity:
    path = version / EMBEDDER_FILE
    return validated(_IDENTITY, read_json(path), path)


def read_manifest(version: Path) -> Manifest:
    """The version's manifest with its file list, both checked now."""
    manifest = open_manifest(version)
    manifest.files  # noqa: B018 - read (and checked) now, not at first use
    return manifest


def open_manifest(version: Path) -> Manifest:
    """The version's manifest, its file list read at the first use of `files` (a damaged one is
    an `IndexCorruptError` then)."""
    path = version / MANIFEST_FILE
    data = read_json(path)
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
    if written == 2:
        data = {**data, "store": dict(FORMAT2_STORE)}
    if written < 5:
        return validated(_MANIFEST, data, path).manifest()
    header = validated(_HEADER, data, path)
    file_list = FileList(version / FILES_FILE)
    return Manifest(header.chunking, None, header.updated_at, header.store, file_list=file_list)


def write_manifest(version: Path, manifest: Manifest, identity: EmbedderIdentity) -> None:
    """The manifest, its file list and the embedder's identity, into a version folder being
    written."""
    text = json.dumps(manifest.file_dicts(), ensure_ascii=False)  # compact: it is large
    (version / FILES_FILE).write_text(text, encoding="utf-8")
    write_json(version / MANIFEST_FILE, manifest.header())
    write_json(version / EMBEDDER_FILE, identity.to_dict())
