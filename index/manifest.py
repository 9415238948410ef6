"""What a version of the index holds, kept beside it as JSON: the manifest (file -> content hash
-> chunk ids, the chunking that made them, where the store keeps them) and the identity of the
embedder that made the vectors, so that an index is never opened with another model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

from index.disk import read_json, validated, write_json
from index.embeddings import EmbedderIdentity
from index.errors import IndexMismatchError, damaged

FORMAT_VERSION = 4
READABLE_FORMATS = (2, 3, 4)
"""Format 2 kept its vectors and docstore in the version folder; it opens as one FAISS segment
and the next save writes format 4. Format 3 listed each file's chunk ids as a JSON list; 4
joins them into one string (`FileRecord`)."""
FORMAT2_STORE = {"format2": True}
"""The `store` entry a format-2 manifest is read with: it names no store, and its chunks are in
the version folder."""
MANIFEST_FILE = "manifest.json"
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


@dataclass
class Manifest:
    """Which files are indexed, their content hashes and chunk ids, how they were chunked, and
    where the store keeps them (`store`: its backend's own description, e.g. segment names)."""

    chunking: dict
    files: dict[str, FileRecord] = field(default_factory=dict)
    updated_at: float = 0.0
    store: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """As written to manifest.json; built by hand because `dataclasses.asdict` would
        deep-copy every chunk id (0.9 s of a one-file update at a million chunks)."""
        files = {source: record.to_dict() for source, record in self.files.items()}
        return {
            "format": FORMAT_VERSION,
            "chunking": self.chunking,
            "files": files,
            "updated_at": self.updated_at,
            "store": self.store,
        }

    def chunk_ids(self) -> set[str]:
        return {i for record in self.files.values() for i in record.chunk_ids}


class _StoredManifest(BaseModel):
    """The manifest's shape on disk, validated before it is trusted."""

    chunking: dict
    files: dict[str, _StoredFile]
    updated_at: float
    store: dict

    def manifest(self) -> Manifest:
        files = {source: stored.record() for source, stored in self.files.items()}
        return Manifest(self.chunking, files, self.updated_at, self.store)


_MANIFEST = TypeAdapter(_StoredManifest)
_IDENTITY = TypeAdapter(EmbedderIdentity)


def read_embedder_identity(version: Path) -> EmbedderIdentity:
    path = version / EMBEDDER_FILE
    return validated(_IDENTITY, read_json(path), path)


def read_manifest(version: Path) -> Manifest:
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
    missing = [f.name for f in fields(Manifest) if f.name not in data]
    if missing:  # the dataclass has defaults for a new manifest; one on disk has every field
        raise damaged(f"wrong shape: {', '.join(missing)}: Field required", path)
    return validated(_MANIFEST, data, path).manifest()


def write_manifest(version: Path, manifest: Manifest, identity: EmbedderIdentity) -> None:
    """The manifest and the embedder's identity, into a version folder being written."""
    text = json.dumps(manifest.to_dict(), ensure_ascii=False)  # compact: it is large
    (version / MANIFEST_FILE).write_text(text, encoding="utf-8")
    write_json(version / EMBEDDER_FILE, identity.to_dict())
