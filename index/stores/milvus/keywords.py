"""BM25 on the Milvus server with ragchat's own tokens and scoring (`index.bm25`).

Each row keeps its chunk's term counts (`terms`, JSON) and a sparse vector (`keywords`) of the
chunk side of BM25 (`saturated`: the count, saturated and normalised by the average chunk
length when the row was written); each term is one dimension. The collection's statistics live
in a second collection beside it, `<collection>__terms`, one row per term (its dimension and in
how many chunks it occurs) and a few totals under names no token can have (a leading space):
chunks, terms, chunks per language, the next free dimension, and the save that wrote them.

A question reads the statistics of its own terms only, weights each term by its idf (the query
side) and asks Milvus for the best rows by inner product with that sparse vector; the
candidates are then scored again exactly from their `terms` with today's average length, so
rows written when the average was another still rank as the in-process BM25 ranks them.

The statistics change with every save by the rows it deletes and inserts (their terms are read
before they are deleted), so they stay exact under adds and deletes. A save marks the statistics
with its number first (`WRITING`) and last (`WRITTEN`); a crash in between leaves the two apart,
and the next open counts them again from the rows (`recount`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from index.bm25 import inverse_frequency, saturated
from index.records import ChunkRecord, chunk_language
from index.stores.milvus.client import UNUSED, create_side_collection, every_row

CHUNKS, LENGTH, NEXT_DIMENSION = " chunks", " length", " next"
WRITING, WRITTEN = " writing", " written"
LANGUAGE = " language:"
NO_TERMS = 0
"""The dimension of a chunk without terms: Milvus stores no empty sparse vector, and no query
has this dimension."""
BATCH = 1000


def terms_collection(collection: str) -> str:
    return f"{collection}__terms"


def create_terms_collection(client: Any, collection: str) -> None:
    from pymilvus import DataType

    create_side_collection(
        client,
        terms_collection(collection),
        "term",
        {"dimension": {"datatype": DataType.INT64}, "frequency": {"datatype": DataType.INT64}},
    )


@dataclass
class TermStatistics:
    """Chunks, their total length and per language, and each term's dimension and document
    frequency, as much of them as has been read."""

    chunks: int = 0
    length: int = 0
    next_dimension: int = NO_TERMS + 1
    languages: Counter[str] = field(default_factory=Counter)
    dimensions: dict[str, int] = field(default_factory=dict)
    frequencies: Counter[str] = field(default_factory=Counter)

    @property
    def average_length(self) -> float:
        return self.length / self.chunks if self.chunks else 1.0

    def count(self, records: Iterable[ChunkRecord], sign: int) -> None:
        """Add (`sign` 1) or take away (-1) these chunks."""
        for record in records:
            self.chunks += sign
            self.length += sign * sum(record["terms"].values())
            self.languages[chunk_language(record["metadata"], record["text"])] += sign
            for term in record["terms"]:
                self.frequencies[term] += sign

    def dimension(self, term: str) -> int:
        """A term's dimension, a new one for a term never seen."""
        if term not in self.dimensions:
            self.dimensions[term] = self.next_dimension
            self.next_dimension += 1
        return self.dimensions[term]

    def sparse_vector(self, terms: Mapping[str, int]) -> dict[int, float]:
        """A chunk's row: the chunk side of BM25 for each of its terms."""
        if not terms:
            return {NO_TERMS: 1.0}
        counts = np.array(list(terms.values()), dtype=np.float64)
        weights = saturated(counts, counts.sum(), self.average_length)
        return {self.dimension(t): float(w) for t, w in zip(terms, weights, strict=True)}

    def score(self, query: Counter[str], terms: Mapping[str, int]) -> float:
        """The in-process BM25 score (`index.bm25.Bm25Index`) of a chunk for a query."""
        shared = [t for t in query if t in terms and self.frequencies[t] > 0]
        if not shared:
            return 0.0
        counts = np.array([terms[t] for t in shared], dtype=np.float32)
        frequency = np.array([self.frequencies[t] for t in shared], dtype=np.float64)
        idf = inverse_frequency(frequency, self.chunks)
        side = saturated(counts, sum(terms.values()), self.average_length)
        weights = (idf * side).astype(np.float32)
        return float(weights @ np.array([query[t] for t in shared], dtype=np.float32))

    def query_vector(self, query: Counter[str]) -> dict[int, float]:
        """The query side: each known term's idf times how often the query has it."""
        known = [t for t in query if self.frequencies[t] > 0 and t in self.dimensions]
        frequency = np.array([self.frequencies[t] for t in known], dtype=np.float64)
        idf = inverse_frequency(frequency, self.chunks)
        return {self.dimensions[t]: float(w * query[t]) for t, w in zip(known, idf, strict=True)}


TOTALS = (CHUNKS, LENGTH, NEXT_DIMENSION)


def read_statistics(client: Any, collection: str, terms: Iterable[str]) -> TermStatistics:
    """The totals and the statistics of `terms` (one request per thousand terms)."""
    statistics = TermStatistics()
    wanted = [*TOTALS, *{t: None for t in terms}]
    for begin in range(0, len(wanted), BATCH):
        rows = client.get(
            terms_collection(collection),
            ids=wanted[begin : begin + BATCH],
            output_fields=["term", "dimension", "frequency"],
        )
        for row in rows:
            _keep(statistics, row)
    return statistics


def read_languages(client: Any, collection: str) -> Counter[str]:
    """Chunks per language."""
    rows = client.query(
        terms_collection(collection),
        filter=f'term like "{LANGUAGE}%"',
        output_fields=["term", "frequency"],
    )
    return Counter({row["term"].removeprefix(LANGUAGE): int(row["frequency"]) for row in rows})


def read_all_statistics(client: Any, collection: str) -> TermStatistics:
    """Every row of the statistics (a save's, or counting them again)."""
    statistics = TermStatistics()
    for row in every_row(client, terms_collection(collection), ["term", "dimension", "frequency"]):
        _keep(statistics, row)
    return statistics


def read_markers(client: Any, collection: str) -> tuple[int, int]:
    """The numbers of the last save begun and the last finished."""
    rows = client.get(
        terms_collection(collection), ids=[WRITING, WRITTEN], output_fields=["term", "frequency"]
    )
    found = {row["term"]: row["frequency"] for row in rows}
    return found.get(WRITING, 0), found.get(WRITTEN, 0)


def write_marker(client: Any, collection: str, marker: str, save: int) -> None:
    client.upsert(terms_collection(collection), [_row(marker, 0, save)])
    client.flush(terms_collection(collection))


def write_statistics(
    client: Any, collection: str, statistics: TermStatistics, terms: Iterable[str]
) -> None:
    """The totals, and the rows of `terms` (those whose frequency or dimension changed)."""
    rows = [
        _row(CHUNKS, 0, statistics.chunks),
        _row(LENGTH, 0, statistics.length),
        _row(NEXT_DIMENSION, 0, statistics.next_dimension),
        *(_row(LANGUAGE + name, 0, n) for name, n in statistics.languages.items()),
        *(_row(t, statistics.dimensions[t], statistics.frequencies[t]) for t in terms),
    ]
    for begin in range(0, len(rows), BATCH):
        client.upsert(terms_collection(collection), rows[begin : begin + BATCH])


def _keep(statistics: TermStatistics, row: dict) -> None:
    term, value = row["term"], int(row["frequency"])
    if term == CHUNKS:
        statistics.chunks = value
    elif term == LENGTH:
        statistics.length = value
    elif term == NEXT_DIMENSION:
        statistics.next_dimension = value
    elif term.startswith(LANGUAGE):
        statistics.languages[term.removeprefix(LANGUAGE)] = value
    elif not term.startswith(" "):
        statistics.dimensions[term] = int(row["dimension"])
        statistics.frequencies[term] = value


def _row(term: str, dimension: int, frequency: int) -> dict:
    return {"term": term, "dimension": dimension, "frequency": frequency, "unused": UNUSED}
