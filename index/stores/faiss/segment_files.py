"""One segment on disk, read defensively and written once:

    INDEX/segments/<name>/
      vectors.faiss     FAISS's own binary format (faiss.write_index), one row per chunk
      docstore.jsonl    one chunk per line, in vector order: id, text, metadata, BM25 terms

A format-2 index kept these two files in its version folder: it reads as one segment.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np
from pydantic import TypeAdapter, ValidationError

from index.disk import describe, fsync
from index.errors import damaged
from index.manifest import EMBEDDER_FILE, Manifest
from index.records import ChunkRecord

SEGMENTS = "segments"
VECTORS_FILE = "vectors.faiss"
DOCSTORE_FILE = "docstore.jsonl"

_CHUNK = TypeAdapter(ChunkRecord)


def segment_folders(version: Path, manifest: Manifest) -> list[Path]:
    """The segments a manifest lists, oldest first (format 2: the version folder itself)."""
    if manifest.store.get("format2"):
        return [version]
    return [version.parent / SEGMENTS / name for name in manifest.store.get("segments", {})]


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
        raise damaged(f"line {number} is not a chunk: {describe(err)}", path) from None


def read_segment(
    folder: Path, dimension: int, version: Path
) -> tuple[np.ndarray, list[ChunkRecord]]:
    """A segment's vectors and records, which must agree with each other and the embedder."""
    index = read_vectors(folder)
    if index.d != dimension:
        raise damaged(
            f"vectors of {index.d} dimensions, the embedder's have {dimension}",
            folder / VECTORS_FILE,
            version / EMBEDDER_FILE,
        )
    records = read_docstore(folder)
    if index.ntotal != len(records):
        raise damaged(
            f"{index.ntotal} vectors but {len(records)} chunks in the docstore",
            folder / VECTORS_FILE,
            folder / DOCSTORE_FILE,
        )
    return index.reconstruct_n(0, index.ntotal), records


def write_segment(root: Path, vectors: np.ndarray, records: Iterable[ChunkRecord]) -> str:
    """Write these chunks (`vectors`: their rows, in order) as a new segment under `root`:
    staged, fsynced, renamed into place. Returns its name."""
    name = f"s-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    staging = root / f".staging-{name}"
    staging.mkdir(parents=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(vectors)
    faiss.write_index(index, str(staging / VECTORS_FILE))
    with open(staging / DOCSTORE_FILE, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    for written in staging.iterdir():
        fsync(written)
    staging.rename(root / name)
    fsync(root)
    return name
