"""The two kinds of rows the FAISS store searches, with one interface (`Part`): a saved
segment, read by row from its memory-mapped files (`Segment`), and the chunks added since the
last save, in memory (`Unsaved`). Rows never move: a deleted row stays, masked by the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
from scipy import sparse

from index.errors import damaged
from index.records import ChunkRecord, chunk_language, readable_sentence_vectors
from index.stores.faiss.segment_files import (
    DOCSTORE_FILE,
    DOCSTORE_ROWS_FILE,
    LANGUAGES_FILE,
    LENGTHS_FILE,
    METADATA_FILE,
    SENTENCE_ROWS_FILE,
    SENTENCES_FILE,
    TERM_COUNTS_FILE,
    TERM_ROWS_FILE,
    TERM_STARTS_FILE,
    TERMS_FILE,
    check_rows,
    chunk_record,
    lines,
    mapped,
    read_array,
    read_checked_vectors,
    read_docstore,
    read_ids,
    read_terms,
)

Column = tuple[np.ndarray, np.ndarray]
"""A term's column: the rows holding it (ascending) and its count in each (float32)."""


class Part(Protocol):
    ids: list[str]
    index: faiss.Index

    def record(self, row: int) -> ChunkRecord:
        """The row's record, without its sentence vectors."""
        ...

    def sentences(self, row: int) -> bytes | None:
        """The row's encoded sentence vectors (`encode_sentence_vectors`), None if not kept."""
        ...

    def metadatas(self) -> Iterator[dict]:
        """Every row's metadata, in row order."""
        ...

    def languages(self) -> np.ndarray: ...

    def sentences_kept(self) -> np.ndarray:
        """Per row: whether it keeps sentence vectors."""
        ...

    def lengths(self) -> np.ndarray:
        """Per row: its number of BM25 terms (float32)."""
        ...

    def column(self, term: str) -> Column | None: ...


class Segment:
    """A saved segment, memory-mapped: opening reads only its chunk ids and checks that its
    files agree; records, term columns and sentence vectors are read when asked."""

    def __init__(self, folder: Path, dimension: int, version: Path) -> None:
        self.folder = folder
        self.dimension = dimension
        self.index = read_checked_vectors(folder, dimension, version)
        rows = self.index.ntotal
        self.ids = read_ids(folder, rows)
        self._starts = read_array(folder / DOCSTORE_ROWS_FILE, rows + 1)
        self._docstore = mapped(folder / DOCSTORE_FILE)
        if len(self._docstore) != self._starts[-1]:
            check_rows(self.index, len(read_docstore(folder)), folder)  # names a damaged line
            raise damaged(
                f"{len(self._docstore)} bytes, its row offsets end at {self._starts[-1]}",
                folder / DOCSTORE_FILE,
                folder / DOCSTORE_ROWS_FILE,
            )
        self._metadata = mapped(folder / METADATA_FILE)
        self._languages = read_array(folder / LANGUAGES_FILE, rows)
        self._sentence_rows = read_array(folder / SENTENCE_ROWS_FILE, rows + 1)
        sentences = mapped(folder / SENTENCES_FILE)
        self._sentences = np.frombuffer(sentences, dtype="<f2") if sentences else np.empty(0, "<f2")
        if len(self._sentences) != self._sentence_rows[-1] * dimension:
            raise damaged(
                f"{len(self._sentences) // dimension} sentence vectors, "
                f"{self._sentence_rows[-1]} expected",
                folder / SENTENCES_FILE,
            )
        self._lengths = read_array(folder / LENGTHS_FILE, rows)
        self._terms = mapped(folder / TERMS_FILE)
        self._starts_of_terms = read_array(folder / TERM_STARTS_FILE)
        self._term_rows = read_array(folder / TERM_ROWS_FILE)
        self._term_counts = read_array(folder / TERM_COUNTS_FILE, len(self._term_rows))

    def record(self, row: int) -> ChunkRecord:
        line = self._docstore[self._starts[row] : self._starts[row + 1]]
        return chunk_record(line, row + 1, self.folder / DOCSTORE_FILE)

    def sentences(self, row: int) -> bytes | None:
        first, last = self._sentence_rows[row], self._sentence_rows[row + 1]
        if first == last:
            return None
        return self._sentences[first * self.dimension : last * self.dimension].tobytes()

    def metadatas(self) -> Iterator[dict]:
        return map(json.loads, lines(self._metadata))

    def languages(self) -> np.ndarray:
        return self._languages

    def sentences_kept(self) -> np.ndarray:
        return np.diff(self._sentence_rows) > 0

    def lengths(self) -> np.ndarray:
        return self._lengths

    @cached_property
    def _vocabulary(self) -> dict[str, int]:
        """Read at the first keyword search, not at open."""
        terms = read_terms(self._terms, self.folder / TERMS_FILE)
        if len(terms) + 1 != len(self._starts_of_terms):
            raise damaged(
                f"{len(terms)} terms, {len(self._starts_of_terms) - 1} columns",
                self.folder / TERMS_FILE,
                self.folder / TERM_STARTS_FILE,
            )
        return {term: column for column, term in enumerate(terms)}

    def column(self, term: str) -> Column | None:
        column = self._vocabulary.get(term)
        if column is None:
            return None
        first, last = self._starts_of_terms[column], self._starts_of_terms[column + 1]
        return np.asarray(self._term_rows[first:last]), np.asarray(self._term_counts[first:last])


class Unsaved:
    """The chunks added since the last save: a flat index and their records in memory."""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.index = faiss.IndexFlatIP(dimension)
        self.ids: list[str] = []
        self._records: list[ChunkRecord] = []
        self._sentences: list[bytes | None] = []
        """As bytes: base64 in every record took a 50 MB file's ingest from 1.5 to 2.1 GiB."""
        self._languages: list[str] = []
        self._matrix: sparse.csc_matrix | None = None
        self._vocabulary: dict[str, int] = {}

    def add(self, records: list[ChunkRecord], vectors: np.ndarray) -> None:
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        for record in records:
            encoded = record.get("sentences")
            if isinstance(encoded, str):
                encoded = readable_sentence_vectors(record["id"], encoded, self.dimension)
            self.ids.append(record["id"])
            self._sentences.append(encoded)
            self._records.append({k: v for k, v in record.items() if k != "sentences"})  # type: ignore[misc]
            self._languages.append(chunk_language(record["metadata"], record["text"]))
        self._matrix = None

    def record(self, row: int) -> ChunkRecord:
        return self._records[row]

    def sentences(self, row: int) -> bytes | None:
        return self._sentences[row]

    def metadatas(self) -> Iterator[dict]:
        return (record["metadata"] for record in self._records)

    def languages(self) -> np.ndarray:
        return np.array(self._languages, dtype="U8")

    def sentences_kept(self) -> np.ndarray:
        return np.array([data is not None for data in self._sentences], dtype=bool)

    def lengths(self) -> np.ndarray:
        return np.asarray(self._terms().sum(axis=1), dtype=np.float32).ravel()

    def column(self, term: str) -> Column | None:
        matrix = self._terms()
        column = self._vocabulary.get(term)
        if column is None:
            return None
        first, last = matrix.indptr[column], matrix.indptr[column + 1]
        return matrix.indices[first:last], matrix.data[first:last]

    def _terms(self) -> sparse.csc_matrix:
        """The term-count matrix (terms x rows: a term's rows are one CSC column), built at
        the first keyword search after a change."""
        if self._matrix is None:
            rows, columns, counts = [], [], []
            self._vocabulary = {}
            for row, record in enumerate(self._records):
                for term, count in record["terms"].items():
                    rows.append(row)
                    columns.append(self._vocabulary.setdefault(term, len(self._vocabulary)))
                    counts.append(count)
            shape = (len(self._records), len(self._vocabulary))
            data = np.array(counts, dtype=np.float32)
            self._matrix = sparse.csc_matrix((data, (rows, columns)), shape=shape)
            self._matrix.sort_indices()
        return self._matrix
