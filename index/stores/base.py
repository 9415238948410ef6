"""The one interface every store implements, so that the knowledge base, the versions on disk
and `ingest.py --check` work the same whichever store keeps the chunks (`index.stores`).

A store keeps everything about a chunk (text, metadata, BM25 term counts, sentence vectors)
and answers both searches: the knowledge base above it holds none of that, so a store reads
only what a question asks for: on a server (Milvus), or from memory-mapped files (FAISS)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from config import StoreSettings
from index.embeddings import Embedder
from index.filters import ChunkFilter
from index.manifest import Manifest
from index.records import ChunkRecord


@runtime_checkable  # the retriever (pydantic) checks its knowledge base's fields by isinstance
class Store(Protocol):
    """Where a knowledge base's chunks and vectors are kept and searched. Changes are made by
    `add` and `delete` and are durable once `save` returns."""

    settings: StoreSettings
    """What it was opened with: `save_index` asks it where the live version is kept."""

    # -- the kind of store: starting, opening, dropping and checking one -----------------

    @classmethod
    def create(cls, embedder: Embedder, settings: StoreSettings) -> Store:
        """A new, empty store, for a first ingest or a rebuild."""
        ...

    @classmethod
    def open(
        cls, version: Path, manifest: Manifest, embedder: Embedder, settings: StoreSettings
    ) -> Store:
        """The store a manifest names, holding the chunks the manifest lists. It may take files
        whose chunks it no longer has out of `manifest` (the next ingest adds them again);
        damage is an `IndexCorruptError` naming what is damaged."""
        ...

    @classmethod
    def drop(cls, settings: StoreSettings) -> None:
        """Delete what the store keeps outside the index folder (a deleted knowledge base)."""
        ...

    @classmethod
    def damaged_files(
        cls, version: Path, manifest: Manifest | None, settings: StoreSettings
    ) -> list[str]:
        """For `ingest.py --check`: each of its files read on its own, a problem for each that
        does not read (`manifest`: None when it cannot be read)."""
        ...

    @classmethod
    def vector_files(cls, version: Path, manifest: Manifest) -> list[Path]:
        """The files on this machine that hold the manifest's vectors (none: on a server)."""
        ...

    # -- one store: its changes, searches and saves ---------------------------------------

    def add(self, records: list[ChunkRecord], vectors: np.ndarray) -> None: ...

    def delete(self, ids: Collection[str]) -> None: ...

    def search(self, vector: np.ndarray, k: int, allowed: Collection[str] | None) -> list[str]:
        """Ids of the `k` chunks closest to `vector` (inner product), best first; `allowed`:
        only these."""
        ...

    def keyword_search(self, query: str, k: int, allowed: Collection[str] | None) -> list[str]:
        """Ids of the `k` chunks BM25 scores highest for `query` (`index.bm25`: its tokens,
        statistics of the whole collection), best first; none scoring 0."""
        ...

    def matching(self, chunk_filter: ChunkFilter) -> set[str]:
        """Ids of the chunks whose metadata the filter matches."""
        ...

    def fetch(self, ids: Iterable[str]) -> dict[str, ChunkRecord]:
        """The records of those of `ids` it holds (text, metadata, terms, sentence vectors:
        base64 text, or the bytes where the store keeps them raw)."""
        ...

    def records(self) -> Iterator[ChunkRecord]:
        """Every record: for tools that read the whole corpus (facets, exports), never on a
        question's path."""
        ...

    def metadatas(self) -> Iterator[dict]:
        """Every chunk's metadata (filter choices), without reading texts."""
        ...

    def ids(self) -> list[str]:
        """Every chunk id it holds."""
        ...

    def without_sentence_vectors(self) -> list[str]:
        """The chunks kept without sentence vectors (written before they were kept)."""
        ...

    def language_counts(self) -> Counter[str]:
        """Chunks per language (`zh`, `en`), for the translation policy."""
        ...

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `ids` it holds."""
        ...

    def count(self) -> int: ...

    def save(self, folder: Path) -> dict:
        """Make every change durable, before the manifest that lists them is switched in;
        returns the manifest's `store` entry."""
        ...

    def clean_up(self, folder: Path) -> None:
        """After the switch: remove what the live version no longer refers to."""
        ...
