"""The scale-out store: a Milvus collection, searched on the server.

`store.uri` names a Milvus server or cluster (`http://host:19530`), or a local `.db` file for
Milvus Lite, the same engine in-process (one process at a time may open a file). Each chunk is
one row: `id`, `text`, `vector`, `keywords` (its BM25 sparse vector, `keywords.py`),
`metadata` (JSON), `terms` (its BM25 term counts) and `sentences` (its sentence vectors).

Opening reads nothing proportional to the corpus: dense and keyword searches and filters run on
the server, and a question fetches the texts and sentence vectors of its candidates only (a few
hundred recently fetched rows are kept). So a process's memory and open time do not grow with
the collection, and replicas over one Milvus server see each other's saves at their next
question (the statistics too; the manifest in `paths.index` names the collection).

What the FAISS store gets from its atomic folder switch, this one gets as follows:
- **Identity**: the embedder's identity is a property of the collection, checked on open.
- **Rebuilds** write a new collection, `<collection>__b<build>`, and the old one is dropped only
  after the manifest naming the new one is switched in: an interrupted rebuild changes nothing.
- **Updates** are buffered in memory and written when the ingest saves (deletes, then inserts,
  then the statistics), just before the new manifest is switched in. Each save has a number,
  marked in the statistics before and after it writes and recorded in the manifest: when the
  marks and the manifest agree (every open but the first after a crash) the collection is the
  manifest's. Otherwise every row's id is read once: rows the manifest does not list are never
  returned and are deleted by the next save, files whose rows are gone are taken out of the
  manifest (the next ingest indexes them again), and the statistics are counted again.
- **One writer**: the lock in the index folder, as for FAISS.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from config import StoreSettings
from i18n import N_
from index.bm25 import tokenize
from index.embeddings import Embedder
from index.errors import IndexMismatchError, IndexStoreError
from index.filters import ChunkFilter
from index.manifest import Manifest
from index.records import ChunkRecord, chunk_language
from index.stores.milvus.client import (
    MAX_LIMIT,
    builds,
    check_collection,
    connect,
    create_collection,
    drop_build,
    every_row,
    missing_collection,
)
from index.stores.milvus.expressions import (
    MatchingIds,
    filter_expression,
    search_filter,
    selects_exactly,
)
from index.stores.milvus.keywords import (
    WRITING,
    WRITTEN,
    TermStatistics,
    read_all_statistics,
    read_languages,
    read_markers,
    read_statistics,
    terms_collection,
    write_marker,
    write_statistics,
)
from index.stores.milvus.versions import drop_versions

BATCH = 1000
RECORD_FIELDS = ["id", "text", "metadata", "terms", "sentences"]
COUNTED_FIELDS = ["id", "text", "metadata", "terms"]
"""What the statistics count of a row (its language, length and terms)."""
CACHED_RECORDS = 1024


class MilvusCollection:
    """One collection: what this process changed and has not saved yet, and the ids it must
    not return (deleted since the last save, or left by a crash)."""

    def __init__(
        self, client: Any, collection: str, embedder: Embedder, settings: StoreSettings
    ) -> None:
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self.settings = settings
        self.exists = False
        """The collection is created by the first save, so that a dry run or a failed first
        ingest leaves nothing behind."""
        self.saved = 0
        """The number of the save the manifest lists (`store.save`)."""
        self.orphans: set[str] = set()
        """Rows no manifest lists (left by a crash): never returned, deleted by the next save."""
        self.recount = False
        """The statistics are to be counted again from the rows (after a crash)."""
        self.pending: dict[str, tuple[ChunkRecord, np.ndarray]] = {}
        self.doomed: set[str] = set()
        self.cache: OrderedDict[str, ChunkRecord] = OrderedDict()
        """Rows fetched lately: a question's candidates are fetched once for its passages,
        reranking and citations. A chunk id names one text (`index.updater`)."""

    # -- opening, dropping, checking ----------------------------------------------------

    @classmethod
    def create(cls, embedder: Embedder, settings: StoreSettings) -> MilvusCollection:
        """A new, empty collection for a first ingest or a rebuild."""
        name = f"{settings.collection}__b{time.time_ns():x}"
        return cls(connect(settings), name, embedder, settings)

    @classmethod
    def open(
        cls, version: Path, manifest: Manifest, embedder: Embedder, settings: StoreSettings
    ) -> MilvusCollection:
        """Open the collection the manifest names; read its rows' ids only after a crash."""
        name = manifest.store.get("collection", "")
        client = connect(settings)
        check_collection(client, name, embedder.identity, settings)
        store = cls(client, name, embedder, settings)
        store.exists = True
        store.saved = manifest.store.get("save", 0)
        if not client.has_collection(terms_collection(name)):
            raise IndexMismatchError(
                N_(
                    "the Milvus collection {name} was written by an older ragchat, without "
                    "keyword search on the server; rebuild it with `python ingest.py --rebuild`"
                ),
                name=name,
            )
        for collection in (name, terms_collection(name)):
            client.load_collection(collection)  # Milvus Lite reopens them released
        if read_markers(client, name) != (store.saved, store.saved):
            store._after_crash(manifest)
        return store

    def _after_crash(self, manifest: Manifest) -> None:
        """Rows the manifest does not list are left out; files with rows missing are taken out
        of the manifest (the next ingest adds them again)."""
        live = manifest.chunk_ids()
        found = {row["id"] for row in every_row(self.client, self.collection, ["id"])}
        self.orphans = found - live
        for source, file in list(manifest.files.items()):
            if not all(i in found for i in file.chunk_ids):
                del manifest.files[source]
                self.orphans.update(i for i in file.chunk_ids if i in found)
        self.recount = True

    @classmethod
    def drop(cls, settings: StoreSettings) -> None:
        """Drop every build of the knowledge base's collection, and its live version."""
        client = connect(settings)
        for name in builds(client, settings):
            drop_build(client, name)
        drop_versions(client, settings)

    @classmethod
    def damaged_files(
        cls, version: Path, manifest: Manifest | None, settings: StoreSettings
    ) -> list[str]:
        if manifest is None:  # which collection it is cannot be known
            return []
        try:
            client = connect(settings)
            name = manifest.store.get("collection", "")
            if not client.has_collection(name):
                return [missing_collection(name, settings)]
        except IndexStoreError as err:
            return [str(err)]
        return []

    @classmethod
    def vector_files(cls, version: Path, manifest: Manifest) -> list[Path]:
        """None: the vectors are in the collection."""
        return []

    # -- changes, in memory until saved -------------------------------------------------

    def add(self, records: list[ChunkRecord], vectors: np.ndarray) -> None:
        for record, vector in zip(records, vectors, strict=True):
            self.pending[record["id"]] = (record, vector)
            self.cache.pop(record["id"], None)

    def delete(self, ids: Collection[str]) -> None:
        for chunk_id in ids:
            self.cache.pop(chunk_id, None)
            if self.pending.pop(chunk_id, None) is None:
                self.doomed.add(chunk_id)
        # a removed row that is added again is deleted, then inserted, by the save

    # -- reading ------------------------------------------------------------------------

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None) -> list[str]:
        """The collection's rows and the changes not yet saved, merged by inner product: a
        search sees what was added or removed since the last save, as in the FAISS store."""
        scored = self._server_search("vector", vector.tolist(), k, allowed)
        pending = [i for i in self.pending if allowed is None or i in allowed]
        if pending:
            vectors = np.stack([self.pending[i][1] for i in pending])
            scored.extend(zip((vectors @ vector).tolist(), pending, strict=True))
        return _best(scored, k)

    def keyword_search(self, query: str, k: int, allowed: Collection[str] | None) -> list[str]:
        """BM25 on the server, then three times `k` candidates scored exactly (`keywords.py`)."""
        terms = Counter(tokenize(query))
        if not terms:
            return []
        if self.exists:
            statistics = read_statistics(self.client, self.collection, terms)
        else:
            statistics = TermStatistics()
        hits = self._server_search("keywords", statistics.query_vector(terms), 3 * k, allowed)
        candidates = [i for _, i in hits]
        candidates += [i for i in self.pending if allowed is None or i in allowed]
        counts = self._term_counts(candidates)
        scored = [(statistics.score(terms, counts[i]), i) for i in counts]
        return _best([(score, i) for score, i in scored if score > 0], k)

    def _term_counts(self, ids: list[str]) -> dict[str, dict[str, int]]:
        """The term counts of the candidates: only that column is read (not their texts and
        sentence vectors), except for the rows at hand."""
        found = {i: self.pending[i][0]["terms"] for i in ids if i in self.pending}
        found |= {i: self.cache[i]["terms"] for i in ids if i in self.cache and i not in found}
        missing = [i for i in ids if i not in found]
        for batch in _batches(missing) if self.exists else ():
            for row in self.client.get(self.collection, ids=batch, output_fields=["id", "terms"]):
                found[row["id"]] = row["terms"]
        return found

    def _server_search(
        self, field: str, data: Any, k: int, allowed: Collection[str] | None
    ) -> list[tuple[float, str]]:
        """(score, id) of the best saved rows by inner product on `field`."""
        if not self.exists or not data or (allowed is not None and not allowed):
            return []
        hidden = self.orphans | self.doomed
        hits = self.client.search(
            self.collection,
            data=[data],
            anns_field=field,
            limit=min(k + len(hidden), MAX_LIMIT),
            filter="" if allowed is None else search_filter(allowed),
            search_params={"metric_type": "IP"},
            output_fields=["id"],
        )
        return [(hit["distance"], hit["id"]) for hit in hits[0] if hit["id"] not in hidden]

    def matching(self, chunk_filter: ChunkFilter) -> set[str]:
        """The filter as a Milvus expression on the server, checked on what comes back; the
        searches of the question send the expression again (`MatchingIds`)."""
        found = {r["id"] for r, _ in self.pending.values() if chunk_filter.matches(r["metadata"])}
        expression = filter_expression(chunk_filter)
        if self.exists:
            for row in every_row(self.client, self.collection, ["id", "metadata"], expression):
                if row["id"] not in self.doomed and chunk_filter.matches(row["metadata"]):
                    found.add(row["id"])
        exact = selects_exactly(chunk_filter)
        return MatchingIds(found - self.orphans, expression if exact else "")

    def fetch(self, ids: Iterable[str]) -> dict[str, ChunkRecord]:
        wanted = [  # a chunk removed and added again before the save is pending, not gone
            i
            for i in dict.fromkeys(ids)
            if i in self.pending or (i not in self.doomed and i not in self.orphans)
        ]
        found = {i: self.pending[i][0] for i in wanted if i in self.pending}
        for chunk_id in wanted:
            if chunk_id in self.cache:
                self.cache.move_to_end(chunk_id)
                found[chunk_id] = self.cache[chunk_id]
        missing = [i for i in wanted if i not in found]
        if self.exists:
            for begin in range(0, len(missing), BATCH):
                rows = self.client.get(
                    self.collection, ids=missing[begin : begin + BATCH], output_fields=RECORD_FIELDS
                )
                for row in rows:
                    found[row["id"]] = self._remember(_record(row))
        return {i: found[i] for i in wanted if i in found}

    def _remember(self, record: ChunkRecord) -> ChunkRecord:
        self.cache[record["id"]] = record
        while len(self.cache) > CACHED_RECORDS:
            self.cache.popitem(last=False)
        return record

    def records(self) -> Iterator[ChunkRecord]:
        hidden = self.orphans | self.doomed
        if self.exists:
            for row in every_row(self.client, self.collection, RECORD_FIELDS):
                if row["id"] not in hidden and row["id"] not in self.pending:
                    yield _record(row)
        for record, _ in self.pending.values():
            yield record

    def metadatas(self) -> Iterator[dict]:
        hidden = self.orphans | self.doomed
        if self.exists:
            for row in every_row(self.client, self.collection, ["id", "metadata"]):
                if row["id"] not in hidden and row["id"] not in self.pending:
                    yield row["metadata"]
        for record, _ in self.pending.values():
            yield dict(record["metadata"])

    def ids(self) -> list[str]:
        hidden = self.orphans | self.doomed
        saved = (
            [row["id"] for row in every_row(self.client, self.collection, ["id"])]
            if self.exists
            else []
        )
        return [i for i in saved if i not in hidden and i not in self.pending] + list(self.pending)

    def without_sentence_vectors(self) -> list[str]:
        saved = (
            every_row(self.client, self.collection, ["id"], 'sentences == ""')
            if self.exists
            else []
        )
        hidden = self.orphans | self.doomed
        unsaved = [r["id"] for r, _ in self.pending.values() if "sentences" not in r]
        return [r["id"] for r in saved if r["id"] not in hidden | self.pending.keys()] + unsaved

    def language_counts(self) -> Counter[str]:
        if not self.exists:
            counts: Counter[str] = Counter()
        else:
            counts = read_languages(self.client, self.collection)
        doomed = [r for b in _batches(sorted(self.doomed)) for r in self._saved_records(b)]
        counts.subtract(chunk_language(r["metadata"], r["text"]) for r in doomed)
        counts.update(chunk_language(r["metadata"], r["text"]) for r, _ in self.pending.values())
        return counts

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = list(ids)
        found = {i: self.pending[i][1] for i in wanted if i in self.pending}
        stored = [i for i in wanted if i not in found and i not in self.doomed | self.orphans]
        for begin in range(0, len(stored) if self.exists else 0, BATCH):
            rows = self.client.get(
                self.collection, ids=stored[begin : begin + BATCH], output_fields=["vector"]
            )
            for row in rows:
                found[row["id"]] = np.asarray(row["vector"], dtype=np.float32)
        return found

    def count(self) -> int:
        saved = 0
        if self.exists:
            rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
            saved = rows[0]["count(*)"] - len(self.orphans)
        return saved - len(self.doomed) + len(self.pending)

    # -- writing ------------------------------------------------------------------------

    def save(self, folder: Path) -> dict:
        """Delete, then insert, a batch at a time, then the statistics, all flushed before the
        manifest is switched in; the save's number is marked in the statistics first and last.
        LangChain's writer was left because it turns a whole build into Python lists at once
        (a 100k-chunk build peaked at 3.9 GiB that way, 2.4 GiB a batch at a time)."""
        if not self.exists:
            create_collection(self.client, self.collection, self.embedder.identity, self.settings)
            self.exists = True
        number = max(self.saved, *read_markers(self.client, self.collection)) + 1
        write_marker(self.client, self.collection, WRITING, number)
        gone = sorted(self.doomed | self.orphans)
        added = [record for record, _ in self.pending.values()]
        if self.recount:
            self._delete(gone)
            statistics = self._counted_again()
            changed: Iterable[str] = statistics.dimensions  # live: new terms get theirs below
        else:
            removed = [r for b in _batches(gone) for r in self._saved_records(b)]
            changed = {t for r in (*removed, *added) for t in r["terms"]}
            statistics = read_statistics(self.client, self.collection, changed)
            statistics.count(removed, -1)
            self._delete(gone)
        statistics.count(added, 1)  # rows are weighted with the average length after the save
        pending = list(self.pending.values())
        for begin in range(0, len(pending), BATCH):
            rows = [_row(r, v, statistics) for r, v in pending[begin : begin + BATCH]]
            self.client.insert(self.collection, rows)
        write_statistics(self.client, self.collection, statistics, changed)
        self.client.flush(self.collection)
        write_marker(self.client, self.collection, WRITTEN, number)
        self.saved, self.recount = number, False
        self.orphans, self.doomed, self.pending = set(), set(), {}
        return {"backend": "milvus", "collection": self.collection, "save": number}

    def _delete(self, ids: list[str]) -> None:
        for batch in _batches(ids):
            self.client.delete(self.collection, ids=batch)

    def _saved_records(self, ids: list[str]) -> list[ChunkRecord]:
        rows = self.client.get(self.collection, ids=ids, output_fields=COUNTED_FIELDS)
        return [_record(row) for row in rows]

    def _counted_again(self) -> TermStatistics:
        """The statistics of every saved row, each term keeping its dimension."""
        before = read_all_statistics(self.client, self.collection)
        statistics = TermStatistics(
            next_dimension=before.next_dimension,
            languages=Counter(dict.fromkeys(before.languages, 0)),
            dimensions=before.dimensions,
        )
        rows = every_row(self.client, self.collection, COUNTED_FIELDS)
        statistics.count(map(_record, rows), 1)
        return statistics

    def clean_up(self, folder: Path) -> None:
        """Drop the builds of this knowledge base's collection that the live one replaced (a
        rebuild, or one a crash interrupted)."""
        for name in builds(self.client, self.settings):
            if name != self.collection:
                drop_build(self.client, name)


def _best(scored: list[tuple[float, str]], k: int) -> list[str]:
    scored.sort(key=lambda hit: -hit[0])
    return [chunk_id for _, chunk_id in scored[:k]]


def _record(row: dict) -> ChunkRecord:
    record: ChunkRecord = {
        "id": row["id"],
        "text": row["text"],
        "metadata": row["metadata"],
        "terms": row["terms"],
    }
    if row.get("sentences"):
        record["sentences"] = row["sentences"]
    return record


def _row(record: ChunkRecord, vector: np.ndarray, statistics: TermStatistics) -> dict:
    return {
        "id": record["id"],
        "text": record["text"],
        "vector": vector.tolist(),
        "keywords": statistics.sparse_vector(record["terms"]),
        "metadata": record["metadata"],
        "terms": record["terms"],
        "sentences": record.get("sentences", ""),
    }


def _batches(ids: list[str]) -> Iterator[list[str]]:
    for begin in range(0, len(ids), BATCH):
        yield ids[begin : begin + BATCH]
