"""The one interface every store implements, so that the knowledge base, the versions on disk
and `ingest.py --check` work the same whichever store keeps the chunks (`index.stores`)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from config import StoreSettings
from index.embeddings import Embedder
from index.manifest import Manifest
from index.records import ChunkRecord


@runtime_checkable  # the retriever (pydantic) checks its knowledge base's fields by isinstance
class Store(Protocol):
    """Where a knowledge base's chunks and vectors are kept and searched. Changes are made by
    `add` and `delete` and are durable once `save` returns."""

    # -- the kind of store: starting, opening, dropping and checking one -----------------

    @classmethod
    def create(cls, embedder: Embedder, settings: StoreSettings) -> Store:
        """A new, empty store, for a first ingest or a rebuild."""
        ...

    @classmethod
    def open(
        cls, version: Path, manifest: Manifest, embedder: Embedder, settings: StoreSettings
    ) -> tuple[Store, Iterable[ChunkRecord]]:
        """The store a manifest names, and the records of the chunks the manifest lists. It may
        take files whose chunks it no longer has out of `manifest` (the next ingest adds them
        again); damage is an `IndexCorruptError` naming what is damaged."""
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

    def vectors(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `ids` it holds."""
        ...

    def count(self) -> int: ...

    def save(self, folder: Path, record: Callable[[str], ChunkRecord]) -> dict:
        """Make every change durable, before the manifest that lists them is switched in
        (`record`: a chunk's record by id); returns the manifest's `store` entry."""
        ...

    def clean_up(self, folder: Path) -> None:
        """After the switch: remove what the live version no longer refers to."""
        ...
