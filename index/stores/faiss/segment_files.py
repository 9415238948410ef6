"""One segment on disk: written once, then read by row, memory-mapped, never whole.

    INDEX/segments/<name>/
      vectors.faiss        FAISS's own format (`vector_index`: flat or HNSW), one row per chunk
      ids.json             the chunk ids, in row order
      docstore.jsonl       one chunk per line: id, text, metadata, BM25 terms
      docstore.rows.npy    where each line starts (and the end of the last): a fetch reads
                           only the lines it asks for
      metadata.jsonl       each chunk's metadata again, for filters without reading texts
      languages.npy        each chunk's language (`zh`, `en`), for the translation policy
      sentences.f16        every chunk's sentence vectors, raw float16 rows, one after another
      sentences.rows.npy   where each chunk's rows start (a chunk without any: none)
      terms.json           the BM25 vocabulary, in column order
      terms.{starts,rows,counts}.npy   the term-count matrix by column (CSC): a keyword
                           search reads only its terms' columns
      terms.lengths.npy    each chunk's number of terms, for BM25's length normalisation

Opening a segment maps its files (surviving a writer that deletes them meanwhile) and reads
only `ids.json`; its sizes are checked against each other, and when the docstore's do not
agree it is read whole to name the damage (`read_docstore`).

A segment written by ragchat before 3.x (only `vectors.faiss` and `docstore.jsonl`, the
sentence vectors inside as base64) and a format-2 index (those two files in the version
folder) are `legacy`: read whole by `read_legacy` and written anew at the next save.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import time
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path

import faiss
import numpy as np
from pydantic import TypeAdapter, ValidationError

from config import StoreSettings
from index.disk import describe, fsync
from index.errors import damaged
from index.manifest import EMBEDDER_FILE, Manifest
from index.records import ChunkRecord, chunk_language
from index.stores.faiss import vector_index

SEGMENTS = "segments"
VECTORS_FILE = "vectors.faiss"
DOCSTORE_FILE = "docstore.jsonl"
IDS_FILE = "ids.json"
DOCSTORE_ROWS_FILE = "docstore.rows.npy"
METADATA_FILE = "metadata.jsonl"
LANGUAGES_FILE = "languages.npy"
SENTENCES_FILE = "sentences.f16"
SENTENCE_ROWS_FILE = "sentences.rows.npy"
TERMS_FILE = "terms.json"
TERM_STARTS_FILE = "terms.starts.npy"
TERM_ROWS_FILE = "terms.rows.npy"
TERM_COUNTS_FILE = "terms.counts.npy"
LENGTHS_FILE = "terms.lengths.npy"
ARRAY_FILES = (
    DOCSTORE_ROWS_FILE,
    LANGUAGES_FILE,
    SENTENCE_ROWS_FILE,
    TERM_STARTS_FILE,
    TERM_ROWS_FILE,
    TERM_COUNTS_FILE,
    LENGTHS_FILE,
)

_CHUNK = TypeAdapter(ChunkRecord)
_IDS = TypeAdapter(list[str])
_TERMS = TypeAdapter(list[str])


def segment_folders(version: Path, manifest: Manifest) -> list[Path]:
    """The segments a manifest lists, oldest first (format 2: the version folder itself)."""
    if manifest.store.get("format2"):
        return [version]
    return [version.parent / SEGMENTS / name for name in manifest.store.get("segments", {})]


def is_legacy(folder: Path) -> bool:
    """Written before segments were read by row: only vectors and docstore."""
    return not (folder / IDS_FILE).exists()


# -- reading, defensively -----------------------------------------------------------------


def read_vectors(folder: Path) -> faiss.Index:
    """The segment's FAISS index, memory-mapped: its rows are read when a search needs them."""
    path = folder / VECTORS_FILE
    if not path.is_file():
        raise damaged("missing", path)
    if path.stat().st_size == 0:
        raise damaged("empty", path)
    try:
        return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC)
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
                    records.append(chunk_record(line, number, path))
    except FileNotFoundError:
        raise damaged("missing", path) from None
    except OSError as err:
        raise damaged(f"unreadable: {err.strerror}", path) from None
    ids = [record["id"] for record in records]
    if len(set(ids)) != len(ids):
        raise damaged("a chunk id appears on two lines", path)
    return records


def chunk_record(line: bytes, number: int, path: Path) -> ChunkRecord:
    """One docstore line as a record; damage names the line."""
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


def read_checked_vectors(folder: Path, dimension: int, version: Path) -> faiss.Index:
    """The segment's index, which must have the embedder's dimension."""
    index = read_vectors(folder)
    if index.d != dimension:
        raise damaged(
            f"vectors of {index.d} dimensions, the embedder's have {dimension}",
            folder / VECTORS_FILE,
            version / EMBEDDER_FILE,
        )
    return index


def read_legacy(
    folder: Path, dimension: int, version: Path
) -> tuple[np.ndarray, list[ChunkRecord]]:
    """A legacy segment's vectors and records (read whole), which must agree."""
    index = read_checked_vectors(folder, dimension, version)
    records = read_docstore(folder)
    check_rows(index, len(records), folder)
    return index.reconstruct_n(0, index.ntotal), records


def check_rows(index: faiss.Index, records: int, folder: Path) -> None:
    if index.ntotal != records:
        raise damaged(
            f"{index.ntotal} vectors but {records} chunks in the docstore",
            folder / VECTORS_FILE,
            folder / DOCSTORE_FILE,
        )


def read_ids(folder: Path, rows: int) -> list[str]:
    path = folder / IDS_FILE
    ids = _read_json(path, _IDS)
    if len(ids) != rows:
        raise damaged(f"{len(ids)} chunk ids but {rows} vectors", path, folder / VECTORS_FILE)
    return ids


def read_terms(mapped: mmap.mmap | bytes, path: Path) -> list[str]:
    try:
        return _TERMS.validate_json(bytes(mapped))
    except ValidationError as err:
        raise damaged(f"not the list of terms: {describe(err)}", path) from None


def _read_json(path: Path, adapter: TypeAdapter) -> list:
    try:
        return adapter.validate_json(path.read_bytes())
    except FileNotFoundError:
        raise damaged("missing", path) from None
    except OSError as err:
        raise damaged(f"unreadable: {err.strerror}", path) from None
    except ValidationError as err:
        raise damaged(f"not a list of chunk ids: {describe(err)}", path) from None


def read_array(path: Path, length: int | None = None) -> np.ndarray:
    """A `.npy` file, memory-mapped; `length`: the rows it must have."""
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise damaged("missing", path) from None
    except (OSError, ValueError) as err:
        raise damaged(f"not a numpy array file: {str(err)[:120]}", path) from None
    if length is not None and len(data) != length:
        raise damaged(f"{len(data)} rows, {length} expected", path)
    return data


def mapped(path: Path) -> mmap.mmap | bytes:
    """A file mapped read-only (an empty one cannot be mapped: its bytes)."""
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size == 0:
                return b""
            return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise damaged("missing", path) from None
    except OSError as err:
        raise damaged(f"unreadable: {err.strerror}", path) from None


def lines(data: mmap.mmap | bytes) -> Iterator[bytes]:
    """The lines of a mapped file, one at a time."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end + 1
        yield data[start:end]
        start = end


# -- writing ------------------------------------------------------------------------------


def write_segment(
    root: Path,
    vectors: np.ndarray,
    chunks: Iterable[tuple[ChunkRecord, bytes | None]],
    settings: StoreSettings,
) -> str:
    """Write these chunks (records without sentence vectors, and their encoded sentence
    vectors; `vectors`: their rows, in order) as a new segment under `root`: staged, fsynced,
    renamed into place. Returns its name."""
    name = f"s-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    staging = root / f".staging-{name}"
    staging.mkdir(parents=True)
    faiss.write_index(vector_index.build(settings, vectors), str(staging / VECTORS_FILE))
    ids, languages = [], []
    starts, sentence_rows = array("q", [0]), array("q", [0])
    columns = _Columns()
    unit_bytes = 2 * vectors.shape[1]
    with (
        open(staging / DOCSTORE_FILE, "wb") as docstore,
        open(staging / METADATA_FILE, "wb") as metadata,
        open(staging / SENTENCES_FILE, "wb") as sentences,
    ):
        for record, encoded in chunks:
            line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
            docstore.write(line)
            starts.append(starts[-1] + len(line))
            metadata.write(json.dumps(record["metadata"], ensure_ascii=False).encode() + b"\n")
            ids.append(record["id"])
            languages.append(chunk_language(record["metadata"], record["text"]))
            sentences.write(encoded or b"")
            sentence_rows.append(sentence_rows[-1] + len(encoded or b"") // unit_bytes)
            columns.add(record["terms"])
    (staging / IDS_FILE).write_text(json.dumps(ids), encoding="utf-8")
    np.save(staging / DOCSTORE_ROWS_FILE, np.frombuffer(starts, dtype=np.int64))
    np.save(staging / LANGUAGES_FILE, np.array(languages, dtype="U8"))
    np.save(staging / SENTENCE_ROWS_FILE, np.frombuffer(sentence_rows, dtype=np.int64))
    columns.save(staging)
    for written in staging.iterdir():
        fsync(written)
    staging.rename(root / name)
    fsync(root)
    return name


class _Columns:
    """The BM25 term counts of the chunks written, gathered row by row and saved by column."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.rows, self.columns = array("i"), array("i")
        self.counts, self.lengths = array("f"), array("f")

    def add(self, terms: dict[str, int]) -> None:
        row = len(self.lengths)
        for term, count in terms.items():
            self.rows.append(row)
            self.columns.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
            self.counts.append(count)
        self.lengths.append(sum(terms.values()))

    def save(self, folder: Path) -> None:
        columns = np.frombuffer(self.columns, dtype=np.int32)
        by_column = np.argsort(columns, kind="stable")  # rows stay in order within a column
        sizes = np.bincount(columns, minlength=len(self.vocabulary))
        np.save(folder / TERM_STARTS_FILE, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64))
        np.save(folder / TERM_ROWS_FILE, np.frombuffer(self.rows, dtype=np.int32)[by_column])
        np.save(folder / TERM_COUNTS_FILE, np.frombuffer(self.counts, dtype=np.float32)[by_column])
        np.save(folder / LENGTHS_FILE, np.frombuffer(self.lengths, dtype=np.float32))
        (folder / TERMS_FILE).write_text(json.dumps(list(self.vocabulary), ensure_ascii=False))
