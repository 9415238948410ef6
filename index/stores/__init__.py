"""The stores that keep a knowledge base's chunks and vectors, chosen by `store.backend`.

- `faiss`: segments of FAISS vectors and JSON-lines chunks in the index folder; an update
  writes only the changed files' chunks (`faiss_segments`). Embedded, offline, the default.
- `milvus`: a Milvus collection through langchain-milvus: a Milvus server or cluster, or
  Milvus Lite in-process with a local `.db` file (`milvus`).

Each is a `StoreType`: `create` starts an empty store, `load` opens the one a manifest names
and returns the `KnowledgeBase` over it, `damaged_files` reads each of its files on its own for
`ingest.py --check`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from config import StoreSettings
from errors import RagchatError
from index.embeddings import Embedder
from index.store import ChunkStore, KnowledgeBase, Manifest


class StoreBackendError(RagchatError, ValueError):
    """An unknown `store.backend`."""

    code = "unknown_store"
    http_status = 500


class StoreType(Protocol):
    @classmethod
    def create(cls, embedder: Embedder, settings: StoreSettings) -> ChunkStore: ...

    @classmethod
    def load(
        cls, version: Path, manifest: Manifest, embedder: Embedder, settings: StoreSettings
    ) -> KnowledgeBase: ...

    @classmethod
    def drop(cls, settings: StoreSettings) -> None:
        """Delete what the store keeps outside the index folder (a deleted knowledge base)."""
        ...

    @classmethod
    def damaged_files(
        cls, version: Path, manifest: Manifest | None, settings: StoreSettings
    ) -> list[str]:
        """Each of its files read on its own (`manifest`: None when it cannot be read)."""
        ...


def _faiss() -> type[StoreType]:
    from index.stores.faiss_segments import FaissSegments

    return FaissSegments


def _milvus() -> type[StoreType]:
    from index.stores.milvus import MilvusCollection  # imports pymilvus: only when chosen

    return MilvusCollection


STORES = {"faiss": _faiss, "milvus": _milvus}


def store_type(name: str) -> type[StoreType]:
    """The store called `name`, or an error listing the ones there are."""
    if name not in STORES:
        raise StoreBackendError(f"no store backend named {name!r}; available: {', '.join(STORES)}")
    return STORES[name]()
