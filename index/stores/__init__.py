"""The stores that keep a knowledge base's chunks and vectors, chosen by `store.backend`.

- `faiss`: segments of FAISS vectors and JSON-lines chunks in the index folder; an update
  writes only the changed files' chunks (`faiss/`). Embedded, offline, the default.
- `milvus`: a Milvus collection through langchain-milvus: a Milvus server or cluster, or
  Milvus Lite in-process with a local `.db` file (`milvus/`).

Each implements `Store` (`base.py`) in its own folder; nothing else names one. A store is
imported only when chosen (Milvus's client is slow to import).
"""

from __future__ import annotations

from collections.abc import Callable

from errors import RagchatError
from index.manifest import Manifest
from index.stores.base import Store


class StoreBackendError(RagchatError, ValueError):
    """An unknown `store.backend`."""

    code = "unknown_store"
    http_status = 500


def _faiss() -> type[Store]:
    from index.stores.faiss.segments import FaissSegments

    return FaissSegments


def _milvus() -> type[Store]:
    from index.stores.milvus.collection import MilvusCollection

    return MilvusCollection


STORES: dict[str, Callable[[], type[Store]]] = {"faiss": _faiss, "milvus": _milvus}
FORMAT2_BACKEND = "faiss"
"""The store of a format-2 index, whose manifest names none."""


def store_class(name: str) -> type[Store]:
    """The store called `name`, or an error listing the ones there are."""
    if name not in STORES:
        raise StoreBackendError(f"no store backend named {name!r}; available: {', '.join(STORES)}")
    return STORES[name]()


def backend_of(manifest: Manifest) -> str:
    """The name of the store that keeps a manifest's chunks."""
    return manifest.store.get("backend", FORMAT2_BACKEND)
