"""The embedded store: FAISS vectors in memory, kept on disk as append-only segments
(`segment_files`).

A segment is written once and never changed. Saving writes one new segment holding only the
chunks added since the last save; the manifest lists the live chunk ids and the segments, so a
chunk of an old segment that the manifest no longer lists is dead. An update therefore costs
what changed, not the size of the index. When dead rows pass `store.compact_dead_share` of all
rows, or segments pass `store.max_segments`, the save writes every live chunk into one new
segment instead (compaction); segments no live version lists are removed after the switch.

Written here rather than with LangChain's FAISS wrapper: its persistence pickles, and segments
need the row bookkeeping (which chunk is in which row, which rows are unsaved) the wrapper hides.
A filtered search is FAISS's own `IDSelectorBatch`, so it stays exact and scans only once.

The chunks' records (text, metadata, BM25 term counts, sentence vectors) are kept in memory
with the vectors, and keyword search is the in-process BM25 over them (`index.bm25`).
"""

from __future__ import annotations

import base64
import shutil
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import faiss
import numpy as np

from config import StoreSettings
from index.bm25 import Bm25Index
from index.embeddings import Embedder
from index.errors import IndexStoreError, damaged
from index.filters import ChunkFilter
from index.manifest import MANIFEST_FILE, Manifest
from index.records import ChunkRecord, chunk_language, readable_sentence_vectors
from index.stores.faiss.segment_files import (
    DOCSTORE_FILE,
    SEGMENTS,
    VECTORS_FILE,
    read_docstore,
    read_segment,
    read_vectors,
    segment_folders,
    write_segment,
)


class FaissSegments:
    """Vectors in one flat inner-product FAISS index, rows in step with `order`, and the
    chunks' records."""

    def __init__(self, dimension: int, settings: StoreSettings) -> None:
        self.index = faiss.IndexFlatIP(dimension)
        self.order: list[str] = []
        self.rows: dict[str, int] = {}
        self.chunks: dict[str, ChunkRecord] = {}
        """Each chunk's record, without its sentence vectors (kept in `sentences`)."""
        self.sentences: dict[str, bytes] = {}
        """Each chunk's sentence vectors, as bytes: base64 in every record took a 50 MB file's
        ingest from 1.5 to 2.1 GiB."""
        self.languages: Counter[str] = Counter()
        self._bm25: Bm25Index | None = None
        """Built over the records in `order` by the first keyword search after a change."""
        self.settings = settings
        self.segments: dict[str, int] = {}
        """Saved segments, oldest first, and the rows each holds (live or dead)."""
        self.unsaved: set[str] = set()
        """Chunks added since the last save: in no segment yet."""

    # -- opening, dropping, checking ----------------------------------------------------

    @classmethod
    def create(cls, embedder: Embedder, settings: StoreSettings) -> FaissSegments:
        return cls(embedder.identity.dimension, settings)

    @classmethod
    def open(
        cls, version: Path, manifest: Manifest, embedder: Embedder, settings: StoreSettings
    ) -> FaissSegments:
        """Read the segments the manifest lists, keeping the chunks it lists; a chunk found in
        two segments (removed, then added again) is taken from the newer."""
        store = cls(embedder.identity.dimension, settings)
        folders = segment_folders(version, manifest)
        live = manifest.chunk_ids()
        kept: dict[str, tuple[ChunkRecord, np.ndarray]] = {}
        for folder in folders:
            vectors, records = read_segment(folder, embedder.identity.dimension, version)
            for row, record in enumerate(records):
                if record["id"] in live:
                    kept[record["id"]] = (record, vectors[row])
        if len(kept) != len(live):
            missing = len(live) - len(kept)
            raise damaged(
                f"{missing} of its chunks are in no segment",
                version / MANIFEST_FILE,
                *(folder / DOCSTORE_FILE for folder in folders),
            )
        records = [record for record, _ in kept.values()]
        if records:
            store.add(records, np.stack([vector for _, vector in kept.values()]))
        if manifest.store.get("format2"):
            store.segments = {}  # the next save writes them as a segment of its own
        else:
            store.segments = dict(manifest.store["segments"])
            store.unsaved = set()
        return store

    @classmethod
    def drop(cls, settings: StoreSettings) -> None:
        """Nothing: its segments are inside the index folder."""

    @classmethod
    def damaged_files(
        cls, version: Path, manifest: Manifest | None, settings: StoreSettings
    ) -> list[str]:
        """Every segment the manifest lists, or every one there is when it cannot be read."""
        if manifest is None:
            root = version.parent / SEGMENTS
            folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        else:
            folders = segment_folders(version, manifest)
        problems = []
        for folder in folders:
            for read in (read_vectors, read_docstore):
                try:
                    read(folder)
                except IndexStoreError as err:
                    problems.append(str(err))
        return problems

    @classmethod
    def vector_files(cls, version: Path, manifest: Manifest) -> list[Path]:
        return [folder / VECTORS_FILE for folder in segment_folders(version, manifest)]

    # -- changes, in memory -------------------------------------------------------------

    def add(self, records: list[ChunkRecord], vectors: np.ndarray) -> None:
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        for record in records:
            self.rows[record["id"]] = len(self.order)
            self.order.append(record["id"])
            self.unsaved.add(record["id"])
            self._keep(record)
            self.languages[chunk_language(record["metadata"], record["text"])] += 1
        self._bm25 = None

    def delete(self, ids: Collection[str]) -> None:
        gone = set(ids)
        if not gone:
            return
        rows = np.fromiter((self.rows.pop(i) for i in gone), dtype=np.int64, count=len(gone))
        self.index.remove_ids(rows)  # the rows after each removed one move up, in order
        first = int(rows.min())
        self.order[first:] = [i for i in self.order[first:] if i not in gone]
        for row in range(first, len(self.order)):
            self.rows[self.order[row]] = row
        self.unsaved -= gone
        for chunk_id in gone:
            removed = self.chunks.pop(chunk_id)
            self.sentences.pop(chunk_id, None)
            self.languages[chunk_language(removed["metadata"], removed["text"])] -= 1
        self._bm25 = None

    # -- reading ------------------------------------------------------------------------

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None) -> list[str]:
        query = vector.reshape(1, -1)
        if self.index.ntotal == 0:
            return []
        if allowed is None:
            _, rows = self.index.search(query, min(k, self.index.ntotal))
        else:
            selected = np.fromiter((self.rows[i] for i in allowed if i in self.rows), np.int64)
            if not len(selected):
                return []
            parameters = faiss.SearchParameters(sel=faiss.IDSelectorBatch(selected))
            _, rows = self.index.search(query, min(k, len(selected)), params=parameters)
        return [self.order[row] for row in rows[0] if row >= 0]

    def _keep(self, record: ChunkRecord) -> None:
        chunk_id, encoded = record["id"], record.get("sentences")
        data = (
            None if encoded is None else readable_sentence_vectors(chunk_id, encoded, self.index.d)
        )
        if data is not None:
            self.sentences[chunk_id] = data
        self.chunks[chunk_id] = {k: v for k, v in record.items() if k != "sentences"}  # type: ignore[assignment]

    def keyword_search(self, query: str, k: int, allowed: Collection[str] | None) -> list[str]:
        if self._bm25 is None:
            self._bm25 = Bm25Index([self.chunks[i]["terms"] for i in self.order])
        mask = None if allowed is None else np.array([i in allowed for i in self.order])
        return [self.order[row] for row, _ in self._bm25.search(query, k, mask)]

    def matching(self, chunk_filter: ChunkFilter) -> set[str]:
        return {i for i, r in self.chunks.items() if chunk_filter.matches(r["metadata"])}

    def fetch(self, ids: Iterable[str]) -> dict[str, ChunkRecord]:
        return {i: self._record(i) for i in ids if i in self.chunks}

    def records(self) -> Iterator[ChunkRecord]:
        return map(self._record, self.order)

    def _record(self, chunk_id: str) -> ChunkRecord:
        """The chunk's whole record, its sentence vectors encoded again."""
        record = self.chunks[chunk_id]
        if chunk_id not in self.sentences:
            return record
        return {**record, "sentences": base64.b64encode(self.sentences[chunk_id]).decode("ascii")}

    def metadatas(self) -> Iterator[dict]:
        return (dict(self.chunks[i]["metadata"]) for i in self.order)

    def ids(self) -> list[str]:
        return list(self.order)

    def without_sentence_vectors(self) -> list[str]:
        return [i for i in self.order if i not in self.sentences]

    def language_counts(self) -> Counter[str]:
        return Counter(self.languages)

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        held = [i for i in ids if i in self.rows]
        return dict(zip(held, self._rows_of(held), strict=True))

    def count(self) -> int:
        return int(self.index.ntotal)

    def _rows_of(self, ids: list[str]) -> np.ndarray:
        """The vectors of chunks it holds, in the order of `ids`."""
        if not ids:
            return np.empty((0, self.index.d), dtype=np.float32)
        rows = np.fromiter((self.rows[i] for i in ids), dtype=np.int64, count=len(ids))
        return self.index.reconstruct_batch(rows)

    # -- on disk ------------------------------------------------------------------------

    def save(self, folder: Path) -> dict:
        """Write the unsaved chunks as one new segment, or every chunk when it is time to
        compact; the manifest switched in afterwards lists the segments returned."""
        saved_rows = sum(self.segments.values())
        dead = saved_rows - (len(self.order) - len(self.unsaved))
        compact = (
            dead > self.settings.compact_dead_share * max(saved_rows, 1)
            or len(self.segments) >= self.settings.max_segments
        )
        chosen = self.order if compact else [i for i in self.order if i in self.unsaved]
        segments = {} if compact else dict(self.segments)
        if chosen or not segments:  # an empty index is one empty segment
            records = map(self._record, chosen)
            name = write_segment(folder / SEGMENTS, self._rows_of(chosen), records)
            segments[name] = len(chosen)
        self.segments, self.unsaved = segments, set()
        return {"backend": "faiss", "segments": segments}

    def clean_up(self, folder: Path) -> None:
        """Remove segments the live version does not list (replaced, compacted, or left by
        an interrupted save); called by the writer, under the lock."""
        root = folder / SEGMENTS
        for entry in root.iterdir() if root.is_dir() else ():
            if entry.name not in self.segments:
                shutil.rmtree(entry, ignore_errors=True)
