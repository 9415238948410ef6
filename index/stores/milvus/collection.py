"""The scale-out store: a Milvus collection, through langchain-milvus.

`store.uri` names a Milvus server or cluster (`http://host:19530`), or a local `.db` file for
Milvus Lite, the same engine in-process (one process at a time may open a file). Each chunk is
one row: `id`, `text`, `vector` and `metadata` (JSON: the chunk's metadata, and its BM25 term
counts under `_terms`, so keyword search works from the collection alone).

What the FAISS store gets from its atomic folder switch, this one gets as follows:
- **Identity**: the embedder's identity is a property of the collection, checked on open.
- **Rebuilds** write a new collection, `<collection>__b<build>`, and the old one is dropped only
  after the manifest naming the new one is switched in: an interrupted rebuild changes nothing.
- **Updates** are buffered in memory and written when the ingest saves (deletes, then inserts),
  just before the new manifest is switched in. A crash in between leaves rows the manifest does
  not list (ignored by searches, deleted by the next save) or files whose rows are gone (taken
  out of the manifest when opened, so the next ingest indexes them again): the next ingest
  repairs the collection, and until then answers never come from rows the manifest does not list.
- **One writer**: the lock in the index folder, as for FAISS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from config import StoreSettings
from index.embeddings import Embedder
from index.errors import IndexStoreError
from index.manifest import Manifest
from index.records import ChunkRecord
from index.stores.milvus.client import (
    builds,
    check_collection,
    connect,
    create_collection,
    langchain_store,
    missing_collection,
)

TERMS_KEY = "_terms"
SENTENCES_KEY = "_sentences"
"""Where a row's metadata keeps the chunk's BM25 counts and its sentence vectors."""
BATCH = 1000
MAX_LIMIT = 16384
"""Milvus's largest `limit` for one search or one page of a query iterator. Rows are read back
in pages this size: each page is a new `id > last` query, which Milvus Lite answers by sorting
every row, so pages of 1,000 made opening quadratic (6 min at 300k chunks; 48 s in these)."""


class MilvusCollection:
    """One collection: the rows it holds, and the changes not yet written."""

    def __init__(
        self, client: Any, collection: str, embedder: Embedder, settings: StoreSettings
    ) -> None:
        self.client = client
        self.collection = collection
        self.embedder = embedder
        self.settings = settings
        self.vectorstore: Any = None
        """langchain_milvus.Milvus over the collection, which writes the rows; None until the
        collection exists (a new one is created by the first save, so a dry run or a failed
        first ingest leaves nothing behind)."""
        self.committed: set[str] = set()
        """Rows in the collection that the knowledge base holds."""
        self.orphans: set[str] = set()
        """Rows in the collection that no manifest lists (left by a crash): never returned,
        deleted by the next save."""
        self.pending: dict[str, tuple[ChunkRecord, np.ndarray]] = {}
        self.doomed: set[str] = set()

    # -- opening, dropping, checking ----------------------------------------------------

    @classmethod
    def create(cls, embedder: Embedder, settings: StoreSettings) -> MilvusCollection:
        """A new, empty collection for a first ingest or a rebuild."""
        name = f"{settings.collection}__b{time.time_ns():x}"
        return cls(connect(settings), name, embedder, settings)

    @classmethod
    def open(
        cls, version: Path, manifest: Manifest, embedder: Embedder, settings: StoreSettings
    ) -> tuple[MilvusCollection, Iterable[ChunkRecord]]:
        """Open the collection the manifest names, with the rows the manifest lists."""
        name = manifest.store.get("collection", "")
        client = connect(settings)
        check_collection(client, name, embedder.identity, settings)
        store = cls(client, name, embedder, settings)
        store.vectorstore = langchain_store(name, embedder, settings)
        live = manifest.chunk_ids()
        found: dict[str, ChunkRecord] = {}
        for record in store._rows():
            if record["id"] in live:
                found[record["id"]] = record
            else:
                store.orphans.add(record["id"])
        for source, file in list(manifest.files.items()):
            if not all(i in found for i in file.chunk_ids):  # indexed again by the next ingest
                del manifest.files[source]
                for chunk_id in file.chunk_ids:
                    if chunk_id in found:
                        store.orphans.add(chunk_id)
                        del found[chunk_id]
        store.committed = set(found)
        return store, found.values()

    @classmethod
    def drop(cls, settings: StoreSettings) -> None:
        """Drop every build of the knowledge base's collection."""
        client = connect(settings)
        for name in builds(client, settings):
            client.drop_collection(name)

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

    def _rows(self) -> Iterator[ChunkRecord]:
        rows = self.client.query_iterator(
            self.collection, batch_size=MAX_LIMIT, output_fields=["id", "text", "metadata"]
        )
        try:
            while batch := rows.next():
                for row in batch:
                    metadata = dict(row["metadata"])
                    record: ChunkRecord = {
                        "id": row["id"],
                        "text": row["text"],
                        "metadata": metadata,  # type: ignore[typeddict-item]
                        "terms": metadata.pop(TERMS_KEY, {}),
                    }
                    if SENTENCES_KEY in metadata:
                        record["sentences"] = metadata.pop(SENTENCES_KEY)
                    yield record
        finally:
            rows.close()

    # -- changes, in memory until saved -------------------------------------------------

    def add(self, records: list[ChunkRecord], vectors: np.ndarray) -> None:
        for record, vector in zip(records, vectors, strict=True):
            self.pending[record["id"]] = (record, vector)

    def delete(self, ids: Collection[str]) -> None:
        for chunk_id in ids:
            if self.pending.pop(chunk_id, None) is None:
                self.doomed.add(chunk_id)
        # a removed row that is added again is deleted, then inserted, by the save

    # -- reading ------------------------------------------------------------------------

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None) -> list[str]:
        """The collection's live rows and the changes not yet saved, merged by inner product:
        a search sees what was added or removed since the last save, as in the FAISS store."""
        scored = []
        if self.vectorstore is not None:
            expression = "" if allowed is None else f"id in {json.dumps(sorted(allowed))}"
            hits = self.client.search(
                self.collection,
                data=[vector.tolist()],
                limit=min(k + len(self.orphans) + len(self.doomed), MAX_LIMIT),
                filter=expression,
                search_params={"metric_type": "IP"},
                output_fields=["id"],
            )
            scored = [
                (hit["distance"], hit["id"])
                for hit in hits[0]
                if hit["id"] in self.committed and hit["id"] not in self.doomed
            ]
        pending = [i for i in self.pending if allowed is None or i in allowed]
        if pending:
            vectors = np.stack([self.pending[i][1] for i in pending])
            scored.extend(zip((vectors @ vector).tolist(), pending, strict=True))
        scored.sort(key=lambda hit: -hit[0])
        return [chunk_id for _, chunk_id in scored[:k]]

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = list(ids)
        found = {i: self.pending[i][1] for i in wanted if i in self.pending}
        stored = [i for i in wanted if i in self.committed and i not in found]
        for begin in range(0, len(stored), BATCH):
            rows = self.client.get(
                self.collection, ids=stored[begin : begin + BATCH], output_fields=["vector"]
            )
            for row in rows:
                found[row["id"]] = np.asarray(row["vector"], dtype=np.float32)
        return found

    def count(self) -> int:
        return len(self.committed - self.doomed) + len(self.pending)

    # -- writing ------------------------------------------------------------------------

    def save(self, folder: Path, record: Callable[[str], ChunkRecord]) -> dict:
        """Delete, then insert, a batch at a time: LangChain turns what it is given into Python
        lists and row dicts all at once (a 100k-chunk build peaked at 3.9 GiB that way, 2.4 GiB
        this way; 1M did not fit in 24 GiB). Flushed before the manifest is switched in.
        (`record` goes unused: the changes not yet written keep their records.)"""
        if self.vectorstore is None:
            create_collection(self.client, self.collection, self.embedder.identity, self.settings)
            self.vectorstore = langchain_store(self.collection, self.embedder, self.settings)
        gone = sorted(self.doomed | self.orphans)
        for begin in range(0, len(gone), BATCH):
            if not self.vectorstore.delete(ids=gone[begin : begin + BATCH]):  # it logs why
                raise IndexStoreError(f"Milvus did not delete rows from {self.collection}")
        pending = list(self.pending.values())
        for begin in range(0, len(pending), BATCH):
            batch = pending[begin : begin + BATCH]
            self.vectorstore.add_embeddings(
                texts=[r["text"] for r, _ in batch],
                embeddings=[vector.tolist() for _, vector in batch],
                metadatas=[_row_metadata(r) for r, _ in batch],
                ids=[r["id"] for r, _ in batch],
                batch_size=BATCH,
            )
        self.client.flush(self.collection)
        self.committed = (self.committed - self.doomed) | set(self.pending)
        self.orphans, self.doomed, self.pending = set(), set(), {}
        return {"backend": "milvus", "collection": self.collection}

    def clean_up(self, folder: Path) -> None:
        """Drop the builds of this knowledge base's collection that the live one replaced (a
        rebuild, or one a crash interrupted)."""
        for name in builds(self.client, self.settings):
            if name != self.collection:
                self.client.drop_collection(name)


def _row_metadata(record: ChunkRecord) -> dict:
    """A chunk's metadata as its row keeps it, with its BM25 counts and sentence vectors."""
    extra = {SENTENCES_KEY: record["sentences"]} if "sentences" in record else {}
    return {**record["metadata"], TERMS_KEY: record["terms"], **extra}
