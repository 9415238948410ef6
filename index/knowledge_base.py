"""The live index in memory: the chunks, their BM25 term counts, sentence vectors and languages,
kept in step with the manifest and with the store that keeps their vectors, whichever it is."""

from __future__ import annotations

import base64
import binascii
import logging
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from config import StoreSettings
from index.bm25 import Bm25Index, term_counts
from index.embeddings import Embedder, EmbedderIdentity
from index.errors import IndexCorruptError
from index.manifest import Manifest
from index.records import ChunkRecord, chunk_language, decode_sentence_vectors, record_of
from index.stores import store_class
from index.stores.base import Store

log = logging.getLogger(__name__)


@dataclass
class KnowledgeBase:
    """The live index in memory: its chunks, their BM25 term counts, the manifest, and the
    store that keeps their vectors. Change it only through `add` and `remove`, which keep them
    in step."""

    store: Store
    manifest: Manifest
    identity: EmbedderIdentity
    embeddings: Embeddings
    chunks: dict[str, Document] = field(default_factory=dict)
    """Every chunk by id; their order is the rows of the BM25 index."""
    terms: dict[str, dict[str, int]] = field(default_factory=dict)
    sentence_vectors: dict[str, bytes] = field(default_factory=dict)
    """Each chunk's sentence vectors, encoded (`encode_sentence_vectors`): computed at ingest
    with the chunk's own vector, read by reranking and citation support."""
    language_counts: Counter[str] = field(default_factory=Counter)
    """Chunks per language (`zh`, `en`), from the `language` each chunk got at ingest: what the
    translation policy reads (`language_shares`), kept up to date by `add` and `remove`."""
    _bm25: Bm25Index | None = field(default=None, repr=False)
    _ids: list[str] | None = field(default=None, repr=False)

    @classmethod
    def empty(
        cls, embedder: Embedder, chunking: dict, store: StoreSettings | None = None
    ) -> KnowledgeBase:
        settings = store or StoreSettings()
        vectors = store_class(settings.backend).create(embedder, settings)
        return cls(vectors, Manifest(chunking=chunking), embedder.identity, embedder.embeddings)

    @classmethod
    def of_records(
        cls,
        store: Store,
        manifest: Manifest,
        embedder: Embedder,
        records: Iterable[ChunkRecord],
    ) -> KnowledgeBase:
        """A knowledge base over the chunks a store has read back."""
        knowledge_base = cls(store, manifest, embedder.identity, embedder.embeddings)
        for r in records:
            knowledge_base.chunks[r["id"]] = Document(
                id=r["id"], page_content=r["text"], metadata=dict(r["metadata"])
            )
            knowledge_base.terms[r["id"]] = r["terms"]
            knowledge_base.language_counts[chunk_language(r["metadata"], r["text"])] += 1
            if "sentences" in r:
                knowledge_base._keep_sentence_vectors(r["id"], r["sentences"])
        return knowledge_base

    def _keep_sentence_vectors(self, chunk_id: str, encoded: str) -> None:
        """Keep a record's sentence vectors; damaged ones are left out (and embedded again when
        needed), since they are a cache of what the chunk's text gives."""
        try:
            data = base64.b64decode(encoded, validate=True)
            decode_sentence_vectors(data, self.identity.dimension)
        except (binascii.Error, ValueError) as err:
            log.warning("chunk %s: sentence vectors unreadable (%s), left out", chunk_id, err)
            return
        self.sentence_vectors[chunk_id] = data

    def add(
        self,
        ids: list[str],
        chunks: list[Document],
        vectors: list[np.ndarray],
        sentence_vectors: Sequence[bytes | None] | None = None,
    ) -> None:
        """Add chunks with their vectors and encoded sentence vectors (None: none kept); their
        BM25 terms are counted here, once per text."""
        counted: dict[str, dict[str, int]] = {}  # chunks with the same text share one count
        records = []
        sentences = sentence_vectors or [None] * len(ids)
        for chunk_id, chunk, encoded in zip(ids, chunks, sentences, strict=True):
            digest = chunk.metadata["hash"]
            if digest not in counted:
                counted[digest] = term_counts(chunk.page_content)
            document = Document(
                id=chunk_id, page_content=chunk.page_content, metadata=chunk.metadata
            )
            self.chunks[chunk_id] = document
            self.terms[chunk_id] = counted[digest]
            self.language_counts[chunk_language(chunk.metadata, chunk.page_content)] += 1
            if encoded is not None:
                self.sentence_vectors[chunk_id] = encoded
            records.append(self.record(chunk_id))
        if records:
            dimension = self.identity.dimension
            self.store.add(records, np.asarray(vectors, dtype=np.float32).reshape(-1, dimension))
        self._changed()

    def remove(self, ids: list[str]) -> None:
        if ids:
            self.store.delete(ids)
            for chunk_id in ids:
                removed = self.chunks.pop(chunk_id)
                del self.terms[chunk_id]
                self.sentence_vectors.pop(chunk_id, None)
                self.language_counts[chunk_language(removed.metadata, removed.page_content)] -= 1
            self._changed()

    def record(self, chunk_id: str) -> ChunkRecord:
        """The chunk as the stores keep it."""
        chunk = self.chunks[chunk_id]
        return record_of(chunk, self.terms[chunk_id], self.sentence_vectors.get(chunk_id))

    def sentence_vectors_of(self, chunk_id: str) -> np.ndarray | None:
        """The unit vectors of the chunk's sentence units, if the index keeps them."""
        data = self.sentence_vectors.get(chunk_id)
        return None if data is None else decode_sentence_vectors(data, self.identity.dimension)

    def _changed(self) -> None:
        self._bm25 = None
        self._ids = None

    @property
    def language_shares(self) -> dict[str, float]:
        """The share of chunks written in each language."""
        total = sum(self.language_counts.values()) or 1
        return {language: n / total for language, n in self.language_counts.items() if n > 0}

    @property
    def ids(self) -> list[str]:
        """Chunk ids in the row order of `bm25`."""
        if self._ids is None:
            self._ids = list(self.chunks)
        return self._ids

    @property
    def bm25(self) -> Bm25Index:
        """Keyword index over the chunks, rows in `ids` order; built when first needed."""
        if self._bm25 is None:
            self._bm25 = Bm25Index([self.terms[i] for i in self.ids])
        return self._bm25

    def document(self, chunk_id: str) -> Document:
        return self.chunks[chunk_id]

    @property
    def vector_count(self) -> int:
        return len(self.chunks)

    def documents(self) -> Iterator[Document]:
        """Every chunk, in row order."""
        yield from self.chunks.values()

    def search(
        self, vector: np.ndarray | list[float], k: int, allowed: Collection[str] | None = None
    ) -> list[str]:
        """The ids of the `k` chunks closest to `vector`; `allowed`: only among these."""
        if not self.chunks or (allowed is not None and not allowed):
            return []
        return self.store.search(np.asarray(vector, dtype=np.float32), k, allowed)

    def similarity_search(self, query: str, k: int = 4) -> list[Document]:
        """The `k` chunks closest in meaning to `query` (dense search alone)."""
        ids = self.search(self.embeddings.embed_query(query), k)
        return [self.chunks[i] for i in ids]

    def vectors_by_id(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of some chunks, to reuse them instead of embedding again."""
        return self.store.vectors(ids)

    def check_consistent(self) -> None:
        """The store, the chunks and the manifest must describe the same chunks: in memory
        this is a bug, not damage on disk (the stores check what they read)."""
        problem = ""
        if self.store.count() != len(self.chunks):
            problem = f"{self.store.count()} vectors but {len(self.chunks)} chunks"
        elif (
            self.manifest.chunk_ids() != set(self.chunks) or self.terms.keys() != self.chunks.keys()
        ):
            problem = "the manifest lists other chunks"
        if problem:
            raise IndexCorruptError(f"index is inconsistent: {problem}")
