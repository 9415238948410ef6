"""The embedded store: FAISS vectors and the chunks' records in append-only segments in the
index folder (`segment_files`), read memory-mapped and by row (`parts`).

A segment is written once and never changed. Saving writes one new segment holding only the
chunks added since the last save; the manifest lists the live chunk ids and the segments, so a
chunk of an old segment that the manifest no longer lists is dead. An update therefore costs
what changed, not the size of the index. When dead rows pass `store.compact_dead_share` of all
rows, or segments pass `store.max_segments`, the save writes every live chunk into one new
segment instead (compaction); segments no live version lists are removed after the switch.

Opening maps the segments' files and reads only their chunk ids, so it costs little more than
the manifest whatever the corpus; what a question needs (a vector search, a keyword search's
columns, the candidates' records and sentence vectors) is read when asked. Each segment is
searched on its own, its dead rows masked out (`faiss.IDSelectorBitmap`; a filter:
`IDSelectorBatch`, so a filtered search stays exact for flat segments), and the results are
merged by score. Chunks added since the last save are in memory (`parts.Unsaved`) until then.

Written here rather than with LangChain's FAISS wrapper: its persistence pickles, and segments
need the row bookkeeping (which chunk is in which row, which rows are unsaved) the wrapper hides.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from functools import partial
from pathlib import Path

import faiss
import numpy as np

from config import StoreSettings
from index.embeddings import Embedder
from index.errors import IndexStoreError, damaged
from index.filters import ChunkFilter
from index.manifest import FILES_FILE, Manifest, read_embedder_identity
from index.records import ChunkRecord
from index.stores.faiss import keywords, vector_index
from index.stores.faiss.parts import Part, Segment, Unsaved
from index.stores.faiss.segment_files import (
    DOCSTORE_FILE,
    SEGMENTS,
    VECTORS_FILE,
    is_legacy,
    read_docstore,
    read_legacy,
    read_vectors,
    segment_folders,
    write_segment,
)

ROW_BITS = 32
"""A chunk's place is `part << ROW_BITS | row`: one int per chunk in `where`."""


class FaissSegments:
    """Saved segments and the unsaved chunks (the last part), which rows of each are live,
    and where each live chunk is."""

    def __init__(self, dimension: int, settings: StoreSettings) -> None:
        self.dimension = dimension
        self.settings = settings
        self.parts: list[Part] = [Unsaved(dimension)]
        self.live: list[np.ndarray] = [np.zeros(0, dtype=bool)]
        """Per part, per row: whether the row's chunk is live (not deleted or replaced)."""
        self.where: dict[str, int] = {}
        """Each live chunk's part and row (`ROW_BITS`)."""
        self.segments: dict[str, int] = {}
        """Saved segments, oldest first, and the rows each holds (live or dead)."""

    @property
    def unsaved(self) -> Unsaved:
        return self.parts[-1]  # type: ignore[return-value]

    # -- opening, dropping, checking ----------------------------------------------------

    @classmethod
    def create(cls, embedder: Embedder, settings: StoreSettings) -> FaissSegments:
        return cls(embedder.identity.dimension, settings)

    @classmethod
    def open(
        cls, version: Path, manifest: Manifest, embedder: Embedder, settings: StoreSettings
    ) -> FaissSegments:
        """Map the segments the manifest lists, keeping the chunks it lists; a chunk found in
        two segments (removed, then added again) is taken from the newer. Legacy segments
        (`segment_files.is_legacy`) are read into memory and written anew at the next save."""
        dimension = embedder.identity.dimension
        store = cls(dimension, settings)
        folders = segment_folders(version, manifest)
        live = manifest.chunk_ids()
        legacy = [folder for folder in folders if is_legacy(folder)]
        for folder in folders:
            if folder not in legacy:
                segment = Segment(folder, dimension, version)
                store.parts.insert(-1, segment)
                store.live.insert(-1, np.zeros(0, dtype=bool))
                store.segments[folder.name] = segment.index.ntotal
                store._place(len(store.parts) - 2, segment.ids)  # every row: the newer wins
        for dead in store.where.keys() - live:  # set operations: no Python loop per chunk
            del store.where[dead]
        for folder in reversed(legacy):  # older than every other segment, newest first
            vectors, records = read_legacy(folder, dimension, version)
            kept = [
                r for r, c in enumerate(records) if c["id"] in live and c["id"] not in store.where
            ]
            store._place(
                len(store.parts) - 1, [records[r]["id"] for r in kept], len(store.unsaved.ids)
            )
            store.unsaved.add([records[r] for r in kept], vectors[kept])
        if len(store.where) != len(live):
            missing = len(live) - len(store.where)
            raise damaged(
                f"{missing} of its chunks are in no segment",
                version / FILES_FILE,
                *(folder / DOCSTORE_FILE for folder in folders),
            )
        store._mark_live()
        return store

    def _place(self, part: int, ids: Iterable[str], first: int = 0) -> None:
        """Where `ids` are: `part`, row by row from `first`."""
        start = part << ROW_BITS | first
        self.where.update(zip(ids, itertools.count(start)))

    def _mark_live(self) -> None:
        """The live rows of every part, from `where`."""
        places = np.fromiter(self.where.values(), dtype=np.int64, count=len(self.where))
        owners, rows = places >> ROW_BITS, places & ((1 << ROW_BITS) - 1)
        for number, part in enumerate(self.parts):
            self.live[number] = np.zeros(part.index.ntotal, dtype=bool)
            self.live[number][rows[owners == number]] = True

    @classmethod
    def drop(cls, settings: StoreSettings) -> None:
        """Nothing: its segments are inside the index folder."""

    @classmethod
    def damaged_files(
        cls, version: Path, manifest: Manifest | None, settings: StoreSettings
    ) -> list[str]:
        """Every segment the manifest lists, or every one there is when it cannot be read:
        its vectors, its docstore line by line, and every other file it has."""
        if manifest is None:
            root = version.parent / SEGMENTS
            folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        else:
            folders = segment_folders(version, manifest)
        problems: list[str] = []
        whole = partial(_read_whole_segment, version=version)
        for folder in folders:
            for read in (read_vectors, read_docstore, whole):
                try:
                    read(folder)
                except IndexStoreError as err:
                    if str(err) not in problems:
                        problems.append(str(err))
        return problems

    @classmethod
    def vector_files(cls, version: Path, manifest: Manifest) -> list[Path]:
        return [folder / VECTORS_FILE for folder in segment_folders(version, manifest)]

    # -- changes, in memory -------------------------------------------------------------

    def add(self, records: list[ChunkRecord], vectors: np.ndarray) -> None:
        self.delete([r["id"] for r in records if r["id"] in self.where])  # replaced
        self._place(len(self.parts) - 1, (r["id"] for r in records), len(self.unsaved.ids))
        self.unsaved.add(records, vectors)
        self.live[-1] = np.concatenate([self.live[-1], np.ones(len(records), dtype=bool)])

    def delete(self, ids: Collection[str]) -> None:
        for chunk_id in ids:
            place = self.where.pop(chunk_id, None)
            if place is not None:
                self.live[place >> ROW_BITS][place & ((1 << ROW_BITS) - 1)] = False

    # -- reading ------------------------------------------------------------------------

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None) -> list[str]:
        masks = self.live if allowed is None else self._allowed(allowed)
        scored, owners, rows = [], [], []
        for number, (part, mask) in enumerate(zip(self.parts, masks, strict=True)):
            wanted = int(mask.sum())
            if not wanted:
                continue
            bitmap = np.packbits(mask, bitorder="little")  # kept alive while FAISS reads it
            selector = (
                None
                if wanted == len(mask)
                else faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
            )
            found_scores, found_rows = vector_index.search(
                part.index, self.settings, vector, min(k, wanted), selector
            )
            kept = found_rows >= 0
            scored.append(found_scores[kept])
            rows.append(found_rows[kept])
            owners.append(np.full(int(kept.sum()), number))
        if not scored:
            return []
        score, owner, row = (np.concatenate(column) for column in (scored, owners, rows))
        best = np.lexsort((row, owner, -score))[:k]
        return [self.parts[owner[i]].ids[row[i]] for i in best]

    def _allowed(self, allowed: Collection[str]) -> list[np.ndarray]:
        """Per part, the live rows among `allowed`."""
        masks = [np.zeros(len(mask), dtype=bool) for mask in self.live]
        for chunk_id in allowed:
            place = self.where.get(chunk_id)
            if place is not None:
                masks[place >> ROW_BITS][place & ((1 << ROW_BITS) - 1)] = True
        return masks

    def keyword_search(self, query: str, k: int, allowed: Collection[str] | None) -> list[str]:
        wanted = self.live if allowed is None else self._allowed(allowed)
        best = keywords.keyword_search(self.parts, self.live, wanted, query, k)
        return [self.parts[part].ids[row] for part, row in best]

    def matching(self, chunk_filter: ChunkFilter) -> set[str]:
        return {
            part.ids[row]
            for part, mask in zip(self.parts, self.live, strict=True)
            for row, metadata in enumerate(part.metadatas())
            if mask[row] and chunk_filter.matches(metadata)
        }

    def fetch(self, ids: Iterable[str]) -> dict[str, ChunkRecord]:
        places = {i: self.where[i] for i in ids if i in self.where}
        return {i: self._record(place) for i, place in places.items()}

    def _record(self, place: int) -> ChunkRecord:
        """The chunk's whole record; its sentence vectors as `encode_sentence_vectors` made
        them (bytes: no base64 round trip)."""
        part, row = self.parts[place >> ROW_BITS], place & ((1 << ROW_BITS) - 1)
        record, sentences = part.record(row), part.sentences(row)
        return record if sentences is None else {**record, "sentences": sentences}

    def _live_places(self, first: int = 0) -> Iterator[int]:
        """The places of the live chunks of parts `first` and after, in order."""
        for number, mask in enumerate(self.live[first:], start=first):
            for row in np.flatnonzero(mask):
                yield number << ROW_BITS | int(row)

    def records(self) -> Iterator[ChunkRecord]:
        return map(self._record, self._live_places())

    def metadatas(self) -> Iterator[dict]:
        for part, mask in zip(self.parts, self.live, strict=True):
            yield from (dict(m) for row, m in enumerate(part.metadatas()) if mask[row])

    def ids(self) -> list[str]:
        return [
            i
            for part, mask in zip(self.parts, self.live, strict=True)
            for i in _kept(part.ids, mask)
        ]

    def without_sentence_vectors(self) -> list[str]:
        return [
            i
            for part, mask in zip(self.parts, self.live, strict=True)
            for i in _kept(part.ids, mask & ~part.sentences_kept())
        ]

    def language_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for part, mask in zip(self.parts, self.live, strict=True):
            languages, numbers = np.unique(part.languages()[mask], return_counts=True)
            counts.update(dict(zip(languages.tolist(), numbers.tolist(), strict=True)))
        return counts

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        held = [i for i in ids if i in self.where]
        return dict(zip(held, self._vectors_of([self.where[i] for i in held]), strict=True))

    def count(self) -> int:
        return len(self.where)

    def _vectors_of(self, places: list[int]) -> np.ndarray:
        """The stored vectors at these places, in their order."""
        vectors = np.empty((len(places), self.dimension), dtype=np.float32)
        at = np.array(places, dtype=np.int64)
        owners, rows = at >> ROW_BITS, at & ((1 << ROW_BITS) - 1)
        for number in np.unique(owners):
            picked = np.flatnonzero(owners == number)
            vectors[picked] = self.parts[number].index.reconstruct_batch(rows[picked])
        return vectors

    # -- on disk ------------------------------------------------------------------------

    def save(self, folder: Path) -> dict:
        """Write the unsaved chunks as one new segment, or every chunk when it is time to
        compact; the manifest switched in afterwards lists the segments returned."""
        saved_rows = sum(self.segments.values())
        dead = saved_rows - sum(int(mask.sum()) for mask in self.live[:-1])
        compact = (
            dead > self.settings.compact_dead_share * max(saved_rows, 1)
            or len(self.segments) >= self.settings.max_segments
        )
        first = 0 if compact else len(self.parts) - 1
        places = list(self._live_places(first))
        segments = {} if compact else dict(self.segments)
        kept = self.parts[:first]
        if places or not segments:  # an empty index is one empty segment
            name = write_segment(
                folder / SEGMENTS,
                self._vectors_of(places),
                (self._parts_of(place) for place in places),
                self.settings,
            )
            segments[name] = len(places)
            kept.append(Segment(folder / SEGMENTS / name, self.dimension, folder))
        if compact:
            self.where = {}
        if len(kept) > first:
            self._place(first, kept[first].ids)
        self.parts = [*kept, Unsaved(self.dimension)]
        self.live = [np.zeros(0, dtype=bool) for _ in self.parts]
        self._mark_live()
        self.segments = segments
        return {"backend": "faiss", "segments": segments}

    def _parts_of(self, place: int) -> tuple[ChunkRecord, bytes | None]:
        """A chunk's record and its encoded sentence vectors, as a segment is written."""
        part, row = self.parts[place >> ROW_BITS], place & ((1 << ROW_BITS) - 1)
        return part.record(row), part.sentences(row)

    def clean_up(self, folder: Path) -> None:
        """Remove segments the live version does not list (replaced, compacted, or left by
        an interrupted save); called by the writer, under the lock."""
        root = folder / SEGMENTS
        for entry in root.iterdir() if root.is_dir() else ():
            if entry.name not in self.segments:
                shutil.rmtree(entry, ignore_errors=True)


def _kept(ids: list[str], mask: np.ndarray) -> Iterator[str]:
    return (ids[row] for row in np.flatnonzero(mask))


def _read_whole_segment(folder: Path, version: Path) -> None:
    """For `--check`: a segment's every file, read as opening and a keyword search would
    (with the embedder's dimension; an unreadable embedder.json is reported on its own)."""
    if is_legacy(folder):
        return
    try:
        dimension = read_embedder_identity(version).dimension
    except IndexStoreError:
        return
    Segment(folder, dimension, version).column("")
