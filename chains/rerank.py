"""Reordering the best few passages by the sentence in each that is closest to the question.

A window's vector stands for all of its ~10 sentences, so a window about the
question's topic as a whole can outrank the window holding the one sentence that answers it;
the bundled model reads only the first passage that fits the context budget, so that order
decides the answer. Scoring each of the first few windows by its closest sentence (same
embedder, question and translation alike) put the answer's window first for 48 of the 60 seeds
questions instead of 42 (docs/quality.md). Sentences are embedded once, at ingest,
with their window (`index.updater`), so reranking is a lookup and a dot product.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from index.embeddings import unit_rows
from text.sentences import MAX_SENTENCE_UNITS, sentence_units

RANK_STEP = 0.005
"""How much closer (in cosine similarity) a window's best sentence must be to move it above a
window one rank higher in the fused order: near-ties keep the fused order, which also weighs
keywords (best of 0, 0.005, 0.01, 0.02 on the seeds: 47, 48, 47, 43 of 60)."""


class SentenceSimilarity:
    """Cosine similarity between the sentences of chunks and other texts (questions, answer
    sentences), with the index's embedder. A chunk's sentence vectors are computed at ingest
    and read from the index (`stored(chunk id)`); chunks without them (an index from before)
    are embedded when first needed and cached. `close` is the similarity at which a sentence
    counts as a close match."""

    def __init__(
        self,
        embeddings: Embeddings,
        close: float,
        stored: Callable[[str], np.ndarray | None] = lambda _id: None,
        unit_limit: int = MAX_SENTENCE_UNITS,
        cache_size: int = 4096,
    ) -> None:
        self.embeddings = embeddings
        self.close = close
        self.stored = stored
        self.unit_limit = unit_limit
        """At most this many units per chunk (`index.records.sentence_unit_limit`)."""
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()  # requests to remote profiles run side by side

    def sentence_texts(self, document: Document) -> list[str]:
        """The pieces of a chunk that have a vector each (`text.sentences.sentence_units`)."""
        return sentence_units(document.page_content, self.unit_limit)

    def sentence_vectors(self, document: Document) -> np.ndarray:
        """Unit vectors (float32) of the chunk's `sentence_texts`, one row each."""
        stored = self.stored(document.id) if document.id else None
        if stored is not None:
            return stored.astype(np.float32)
        with self._cache_lock:
            return self._cached_vectors(self.sentence_texts(document))

    def closest(self, document: Document, vectors: np.ndarray) -> float:
        """Highest similarity between a sentence of the chunk and one of the (unit) vectors."""
        return float((self.sentence_vectors(document) @ vectors.T).max())

    def queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of questions (the embedder's query side)."""
        return unit_rows(np.array([self.embeddings.embed_query(text) for text in texts]))

    def passages(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of texts on the passage side (as chunks' sentences are embedded)."""
        return unit_rows(np.array(self.embeddings.embed_documents(texts)))

    def _cached_vectors(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, vector in zip(missing, self.passages(missing), strict=True):
                self._cache[text] = vector
        vectors = np.array([self._cache[text] for text in texts])
        for text in texts:
            self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vectors


class SentenceReranker:
    """`HybridRetriever.rerank`: (vectors of the phrasings searched, passages best first) ->
    the first `top` passages reordered by their closest sentence to any of the phrasings, the
    rest as they were. Only a close match moves: passages whose closest sentence is not
    `similarity.close` keep their fused order, after the close ones (a loose match to a
    question the notes do not answer must not win). Each of the first `top` passages gets
    `sentence_score` in its metadata."""

    def __init__(self, similarity: SentenceSimilarity, top: int = 4) -> None:
        self.similarity = similarity
        self.top = top

    def __call__(self, query_vectors: np.ndarray, documents: list[Document]) -> list[Document]:
        head, tail = documents[: self.top], documents[self.top :]
        if len(head) < 2 or not len(query_vectors):
            return documents
        query_vectors = unit_rows(np.asarray(query_vectors, dtype=np.float32))
        scores = [self.similarity.closest(d, query_vectors) for d in head]

        def key(i: int) -> tuple[int, float]:
            if scores[i] < self.similarity.close:
                return (1, i)
            return (0, -(scores[i] - RANK_STEP * i))

        reordered = [
            Document(
                id=head[i].id,
                page_content=head[i].page_content,
                metadata={**head[i].metadata, "sentence_score": scores[i]},
            )
            for i in sorted(range(len(head)), key=key)
        ]
        return reordered + tail
