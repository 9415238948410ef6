"""The live index: the manifest, and the store that keeps the chunks and searches them, kept in
step. It holds no chunk itself, so that a store on a server (Milvus) is read only as far as a
question asks; what it hands out are copies."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from config import StoreSettings
from index.bm25 import term_counts
from index.embeddings import Embedder, EmbedderIdentity
from index.errors import IndexCorruptError
from index.filters import ChunkFilter
from index.manifest import Manifest
from index.records import (
    ChunkRecord,
    decode_sentence_vectors,
    readable_sentence_vectors,
    record_of,
)
from index.stores import store_class
from index.stores.base import Store


@dataclass
class KnowledgeBase:
    """The manifest and the store of a knowledge base. Change it only through `add` and
    `remove` (and the manifest's files alongside), which keep them in step."""

    store: Store
    manifest: Manifest
    identity: EmbedderIdentity
    embeddings: Embeddings

    @classmethod
    def empty(
        cls, embedder: Embedder, chunking: dict, store: StoreSettings | None = None
    ) -> KnowledgeBase:
        settings = store or StoreSettings()
        vectors = store_class(settings.backend).create(embedder, settings)
        return cls(vectors, Manifest(chunking=chunking), embedder.identity, embedder.embeddings)

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
            records.append(record_of(document, counted[digest], encoded))
        if records:
            dimension = self.identity.dimension
            self.store.add(records, np.asarray(vectors, dtype=np.float32).reshape(-1, dimension))

    def remove(self, ids: list[str]) -> None:
        if ids:
            self.store.delete(ids)

    # -- reading chunks -----------------------------------------------------------------

    def record(self, chunk_id: str) -> ChunkRecord:
        """The chunk as the stores keep it."""
        return self.store.fetch([chunk_id])[chunk_id]

    def documents_by_id(self, ids: Iterable[str]) -> dict[str, Document]:
        """Those of the chunks it holds, fetched together (one request to a server)."""
        return {i: _document(r) for i, r in self.store.fetch(ids).items()}

    def document(self, chunk_id: str) -> Document:
        return _document(self.record(chunk_id))

    def documents(self) -> Iterator[Document]:
        """Every chunk: for tools that read the whole corpus, never on a question's path."""
        return map(_document, self.store.records())

    def metadatas(self) -> Iterator[dict]:
        """Every chunk's metadata (e.g. the filter choices, `index.filters.facets`): on a
        server, one read of the metadata column, no texts."""
        return self.store.metadatas()

    def sentence_vectors_of(self, chunk_id: str) -> np.ndarray | None:
        """The unit vectors of the chunk's sentence units, if the index keeps them readable
        (damaged ones are left out and embedded again when needed: they are a cache of what
        the chunk's text gives)."""
        found = self.store.fetch([chunk_id]).get(chunk_id)
        data = None if found is None else self.encoded_sentence_vectors(found)
        return None if data is None else decode_sentence_vectors(data, self.identity.dimension)

    def encoded_sentence_vectors(self, record: ChunkRecord) -> bytes | None:
        """A record's sentence vectors as `encode_sentence_vectors` wrote them, if readable."""
        if "sentences" not in record:
            return None
        return readable_sentence_vectors(record["id"], record["sentences"], self.identity.dimension)

    @property
    def ids(self) -> list[str]:
        """Every chunk id (read from a server: for tools, not for questions)."""
        return self.store.ids()

    @property
    def chunks(self) -> dict[str, Document]:
        """Every chunk by id, a copy (read from a server: for tools, not for questions)."""
        return {d.id: d for d in self.documents() if d.id}

    @property
    def sentence_vectors(self) -> dict[str, bytes]:
        """Every chunk's encoded sentence vectors, a copy (for tools, not for questions)."""
        encoded = ((r["id"], self.encoded_sentence_vectors(r)) for r in self.store.records())
        return {chunk_id: data for chunk_id, data in encoded if data is not None}

    @property
    def language_shares(self) -> dict[str, float]:
        """The share of chunks written in each language (`zh`, `en`), from the `language` each
        chunk got at ingest: what the translation policy reads."""
        counts = self.store.language_counts()
        total = sum(counts.values()) or 1
        return {language: n / total for language, n in counts.items() if n > 0}

    @property
    def vector_count(self) -> int:
        return self.store.count()

    # -- searching ----------------------------------------------------------------------

    def search(
        self, vector: np.ndarray | list[float], k: int, allowed: Collection[str] | None = None
    ) -> list[str]:
        """The ids of the `k` chunks closest to `vector`; `allowed`: only among these."""
        if allowed is not None and not allowed:
            return []
        return self.store.search(np.asarray(vector, dtype=np.float32), k, allowed)

    def keyword_search(
        self, query: str, k: int, allowed: Collection[str] | None = None
    ) -> list[str]:
        """The ids of the `k` chunks BM25 scores highest for `query`; `allowed`: only these."""
        if allowed is not None and not allowed:
            return []
        return self.store.keyword_search(query, k, allowed)

    def matching(self, chunk_filter: ChunkFilter) -> set[str]:
        """The ids of the chunks a filter lets through."""
        return self.store.matching(chunk_filter)

    def similarity_search(self, query: str, k: int = 4) -> list[Document]:
        """The `k` chunks closest in meaning to `query` (dense search alone)."""
        ids = self.search(self.embeddings.embed_query(query), k)
        found = self.documents_by_id(ids)
        return [found[i] for i in ids]

    def vectors_by_id(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of some chunks, to reuse them instead of embedding again."""
        return self.store.vectors(ids)

    def check_consistent(self) -> None:
        """The store and the manifest must count the same chunks: in memory this is a bug,
        not damage on disk (the stores check what they read)."""
        listed = sum(f.chunk_count for f in self.manifest.files.values())
        if self.store.count() != listed:
            raise IndexCorruptError(
                f"index is inconsistent: {self.store.count()} vectors but {listed} chunks"
            )


def _document(record: ChunkRecord) -> Document:
    return Document(id=record["id"], page_content=record["text"], metadata=dict(record["metadata"]))
