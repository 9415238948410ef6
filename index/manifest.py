"""What a version of the index holds, kept beside it as JSON: the manifest (file -> content hash
-> chunk ids, the chunking that made them, where the store keeps them) and the identity of the
embedder that made the vectors, so that an index is never opened with another model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from pydantic import TypeAdapter

from index.disk import read_json, validated, write_json
from index.embeddings import EmbedderIdentity
from index.errors import IndexMismatchError, damaged

FORMAT_VERSION = 3
READABLE_FORMATS = (2, 3)
"""Format 2 kept its vectors and docstore in the version folder; it opens as one FAISS segment
and the next save writes format 3."""
FORMAT2_STORE = {"format2": True}
"""The `store` entry a format-2 manifest is read with: it names no store, and its chunks are in
the version folder."""
MANIFEST_FILE = "manifest.json"
EMBEDDER_FILE = "embedder.json"


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


_MANIFEST = TypeAdapter(Manifest)
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
    return validated(_MANIFEST, data, path)


def write_manifest(version: Path, manifest: Manifest, identity: EmbedderIdentity) -> None:
    """The manifest and the embedder's identity, into a version folder being written."""
    text = json.dumps(manifest.to_dict(), ensure_ascii=False)  # compact: it is large
    (version / MANIFEST_FILE).write_text(text, encoding="utf-8")
    write_json(version / EMBEDDER_FILE, identity.to_dict())
