"""BM25 over the FAISS store's parts, read column by column: a query reads only its terms'
columns (`Part.column`) and each part's row lengths, never a whole matrix.

The corpus statistics are summed over the parts' live rows (a deleted or replaced row counts
nowhere), and the arithmetic is `index.bm25.Bm25Index`'s, operation for operation (float64
idf and average length, float32 weights summed in query-term order), so the scores are
exactly the in-process ones: tests/test_faiss_scale.py compares the rankings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from index.bm25 import inverse_frequency, saturated, tokenize
from index.stores.faiss.parts import Column, Part


def keyword_search(
    parts: Sequence[Part],
    live: Sequence[np.ndarray],
    wanted: Sequence[np.ndarray],
    query: str,
    k: int,
) -> list[tuple[int, int]]:
    """The `k` best (part, row) for `query` among the `wanted` rows (live, and allowed when a
    filter asks), none scoring 0, ties in part and row order. Document frequencies and the
    average length are those of the `live` rows."""
    chunks = sum(int(mask.sum()) for mask in live)
    terms = Counter(tokenize(query))
    if not chunks or not terms:
        return []
    length = sum(
        float(p.lengths()[m].sum(dtype=np.float64)) for p, m in zip(parts, live, strict=True)
    )
    average = length / chunks
    totals = [np.zeros(len(mask), dtype=np.float32) for mask in live]
    for term, multiplicity in terms.items():
        columns = [
            _live_column(part.column(term), mask) for part, mask in zip(parts, live, strict=True)
        ]
        frequency = sum(len(rows) for rows, _ in columns)
        if not frequency:
            continue
        idf = inverse_frequency(np.array([frequency]), chunks)
        for part, total, (rows, counts) in zip(parts, totals, columns, strict=True):
            weights = (idf * saturated(counts, part.lengths()[rows], average)).astype(np.float32)
            total[rows] += weights * np.float32(multiplicity)
    found = [
        (-total[rows], np.full(len(rows), p), rows)
        for p, (total, mask) in enumerate(zip(totals, wanted, strict=True))
        for rows in [np.flatnonzero((total > 0) & mask)]
    ]
    negated, part_of, row_of = (np.concatenate(column) for column in zip(*found, strict=True))
    best = np.lexsort((row_of, part_of, negated))[:k]
    return [(int(part_of[i]), int(row_of[i])) for i in best]


def _live_column(column: Column | None, live: np.ndarray) -> Column:
    if column is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    rows, counts = column
    keep = live[rows]
    return rows[keep], counts[keep]
