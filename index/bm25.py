"""BM25 keyword search over jieba tokens (Chinese) and lowercased words (Latin script).

Written here rather than taken from LangChain's `BM25Retriever` (rank_bm25) because that one
tokenizes every text again each time it is built and can only be saved by pickling. ragchat
tokenizes each chunk once, at ingest, stores its term counts as JSON beside the chunk, and builds
the scoring matrix from them when the index is opened: a sparse column sum per query.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence

import jieba
import numpy as np
from scipy import sparse

from text.normalize import normalize_text

jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not for our users

_TOKEN = re.compile(r"[a-z0-9]+(?:[._+-][a-z0-9]+)*|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

STOP_WORDS = frozenset(
    # English function words
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "it its this that these those there here what which who whom whose how why when where do "
    "does did can could should would will shall may might must not no so than then too very "
    "i you he she we they me him her us them my your his our their about into over under "
    # Chinese function words and particles
    "的 了 是 在 和 与 及 或 也 就 都 而 并 把 被 让 给 对 从 向 以 之 其 这 那 这个 那个 "
    "一个 什么 怎么 如何 为什么 哪些 哪个 吗 呢 吧 啊 呀 着 过 等 中 上 下 里 有 没有 "
    "可以 能 会 要 请 问 我 你 他 她 它 我们 你们 他们".split()
)


def tokenize(text: str) -> list[str]:
    """Search terms of a text: jieba's fine-grained words for CJK runs, words for the rest."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(normalize_text(text).lower()):
        piece = match.group()
        if piece[0].isascii():
            tokens.append(piece)
        else:
            tokens.extend(jieba.lcut_for_search(piece))
    return [token for token in tokens if token not in STOP_WORDS]


def term_counts(text: str) -> dict[str, int]:
    """What the index stores per chunk."""
    return dict(Counter(tokenize(text)))


K1, B = 1.5, 0.75
"""Okapi BM25's term-frequency saturation and length normalisation, for every store."""


def inverse_frequency(frequency: np.ndarray, documents: int) -> np.ndarray:
    """BM25's idf of terms found in `frequency` of `documents` chunks (never negative)."""
    return np.log1p((documents - frequency + 0.5) / (frequency + 0.5))


def saturated(counts: np.ndarray, lengths: np.ndarray, average: float) -> np.ndarray:
    """The chunk side of BM25: a term's count in a chunk of `lengths` terms, saturated and
    normalised by the corpus' `average` length (the score is the sum of idf x this)."""
    norm = K1 * (1 - B + B * lengths / max(average, 1e-9))
    return counts * (K1 + 1) / (counts + norm)


class Bm25Index:
    """Okapi BM25 over a fixed list of documents given as term counts (row i = vector i)."""

    def __init__(self, documents: Sequence[dict[str, int]]):
        # jieba loads its dictionary on first use (~0.5 s): here, when the index opens, rather
        # than inside the first Chinese question's search (an English-only index never loaded
        # it at ingest; that search then took 400-860 ms instead of ~30).
        jieba.initialize()
        self.vocabulary: dict[str, int] = {}
        rows, columns, counts = [], [], []
        for row, terms in enumerate(documents):
            for term, count in terms.items():
                rows.append(row)
                columns.append(self.vocabulary.setdefault(term, len(self.vocabulary)))
                counts.append(count)
        shape = (len(documents), len(self.vocabulary))
        tf = sparse.csr_matrix((np.array(counts, dtype=np.float32), (rows, columns)), shape=shape)
        lengths = np.asarray(tf.sum(axis=1), dtype=np.float32).ravel()
        # summed in float64, where whole counts add up exactly in any order: the FAISS store's
        # on-disk BM25 sums them segment by segment and gets the same average
        average = float(lengths.sum(dtype=np.float64)) / len(documents) if len(documents) else 1.0
        frequency = np.bincount(tf.indices, minlength=shape[1])
        idf = inverse_frequency(frequency, len(documents))
        weights = tf.copy()
        row_of_entry = np.repeat(np.arange(shape[0]), np.diff(tf.indptr))
        chunk_side = saturated(tf.data, lengths[row_of_entry], average)
        weights.data = (idf[tf.indices] * chunk_side).astype(np.float32)
        self._weights = weights.tocsc()

    def search(
        self, query: str, n: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The best `n` rows (with positive score) for a query; `allowed` masks rows out."""
        query_terms = Counter(t for t in tokenize(query) if t in self.vocabulary)
        if not query_terms or self._weights.shape[0] == 0:
            return []
        columns = [self.vocabulary[t] for t in query_terms]
        multiplicity = np.array(list(query_terms.values()), dtype=np.float32)
        scores = np.asarray(self._weights[:, columns] @ multiplicity).ravel()
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        best = candidates[np.argsort(-scores[candidates], kind="stable")[:n]]
        return [(int(row), float(scores[row])) for row in best]
