"""Which FAISS index a segment's vectors are written in (`store.vector_index`), chosen per
segment when it is written, by a small registry keyed by the config value.

- `flat`: every vector compared with the question's (exact). Its cost grows with the rows: at
  a million 384-dimension vectors a search reads 1.5 GB, ~70-140 ms on two cores.
- `hnsw`: FAISS's HNSW graph over the same float32 vectors (`store.hnsw_factory`): a search
  visits a few thousand rows (`store.hnsw_ef_search` candidates), at a recall below 1 that
  depends on the vectors (docs/guides/large-knowledge-bases.md). The distances it returns are
  exact inner products of the stored vectors, so no re-scoring is needed: recall is set by
  which candidates the graph finds, which efSearch controls.
- `auto` (the default): `flat` for segments below `store.approximate_from` rows, `hnsw` from
  there (measured in docs/benchmarks.md: below a few hundred thousand rows exact search is
  fast enough that losing recall buys nothing).

Both kinds are read memory-mapped (`faiss.IO_FLAG_MMAP_IFC`): opening maps the file instead of
reading it, and only the pages a search touches come into memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np

from config import StoreSettings


@dataclass(frozen=True)
class VectorIndexKind:
    """How to make an index of one kind, and the search parameters it takes."""

    factory: Callable[[StoreSettings], str]
    """The FAISS index_factory description (inner product)."""
    parameters: Callable[[StoreSettings, faiss.IDSelector | None], faiss.SearchParameters]


def _hnsw_parameters(
    settings: StoreSettings, selector: faiss.IDSelector | None
) -> faiss.SearchParameters:
    return faiss.SearchParametersHNSW(sel=selector, efSearch=settings.hnsw_ef_search)


KINDS: dict[str, VectorIndexKind] = {
    "flat": VectorIndexKind(
        lambda _: "Flat", lambda _, selector: faiss.SearchParameters(sel=selector)
    ),
    "hnsw": VectorIndexKind(lambda settings: settings.hnsw_factory, _hnsw_parameters),
}


def kind_for(settings: StoreSettings, rows: int) -> str:
    """The kind a segment of `rows` rows is written in."""
    if settings.vector_index != "auto":
        return settings.vector_index
    return "hnsw" if rows >= settings.approximate_from else "flat"


def kind_of(index: faiss.Index) -> str:
    """The kind of an index read from disk (a segment keeps the kind it was written in)."""
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"


def build(settings: StoreSettings, vectors: np.ndarray) -> faiss.Index:
    """An index of the kind `settings` asks for at this size, holding `vectors`."""
    kind = KINDS[kind_for(settings, len(vectors))]
    index = faiss.index_factory(
        vectors.shape[1], kind.factory(settings), faiss.METRIC_INNER_PRODUCT
    )
    if isinstance(index, faiss.IndexHNSW):  # not part of an index_factory description
        index.hnsw.efConstruction = settings.hnsw_ef_construction
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def search(
    index: faiss.Index,
    settings: StoreSettings,
    vector: np.ndarray,
    k: int,
    selector: faiss.IDSelector | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and rows of the `k` best rows of `index` that `selector` lets through."""
    parameters = KINDS[kind_of(index)].parameters(settings, selector)
    scores, rows = index.search(vector.reshape(1, -1), k, params=parameters)
    return scores[0], rows[0]
