"""A ragchat knowledge base as a LangChain `VectorStore`, whichever store keeps it.

`KnowledgeBaseVectorStore(knowledge_base)` gives LangChain code (`as_retriever()`,
`add_documents`, `delete`, `get_by_ids`, `similarity_search*`) the same chunks that ragchat's
own hybrid retriever searches, over FAISS segments or a Milvus collection alike. Changes live in
memory until `index.versions.save_index` writes them, as for an ingest.

Ingest owns files: a document added here is kept under its metadata's `source` (or
`DEFAULT_SOURCE`) in the manifest, and a later `ingest.py` run over a documents folder that has
no file of that name removes it, as it removes any file that disappeared (a new manifest entry
has file hash "", so `ingest.py --check` lists it as changed, and a real file of that name is
indexed over it).

Not thread-safe beyond what `KnowledgeBase` is: one writer at a time.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from config import StoreSettings
from index.embeddings import Embedder, EmbedderIdentity
from index.filters import ChunkFilter
from index.knowledge_base import KnowledgeBase
from index.manifest import FileRecord
from loaders.chunking import content_hash

DEFAULT_SOURCE = "(langchain)"
"""The manifest entry of documents added without a `source` in their metadata."""
FILLED_KEY = "_ragchat_filled"
"""Metadata keys this class filled in (`source`, `hash`: a knowledge base needs both), kept
with the chunk so that the documents it returns carry exactly the metadata they were given."""

MetadataFilter = ChunkFilter | Callable[[Mapping[str, Any]], bool]
"""Which chunks a search may return: a `ChunkFilter`, or a test of a chunk's stored metadata
(with `source` and `hash` as the knowledge base keeps them)."""


def langchain_embedder(embeddings: Embeddings) -> Embedder:
    """An `Embedder` for any LangChain embeddings: its dimension found by embedding one text,
    its vectors not assumed to be of unit length."""
    dimension = len(embeddings.embed_query("dimension probe"))
    identity = EmbedderIdentity("langchain", type(embeddings).__name__, dimension, False)
    return Embedder(embeddings, identity, count_tokens=len)


class KnowledgeBaseVectorStore(VectorStore):
    """LangChain's vector-store interface over a `KnowledgeBase`.

    Search is dense only (the knowledge base's store, exact inner product); a result's score is
    the inner product of the query's vector with the chunk's stored one: the cosine similarity
    for ragchat's normalized embedders. Adding with an id the knowledge base holds replaces
    that chunk. Returned documents carry `Document.id` and the chunk's metadata (never its BM25
    term counts); their metadata is a copy, so changing it leaves the knowledge base alone.
    """

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self.knowledge_base = knowledge_base

    @property
    def embeddings(self) -> Embeddings:
        return self.knowledge_base.embeddings

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> KnowledgeBaseVectorStore:
        """A new knowledge base in memory (FAISS; nothing on disk until `save_index`)."""
        knowledge_base = KnowledgeBase.empty(langchain_embedder(embedding), {}, StoreSettings())
        vectorstore = cls(knowledge_base)
        vectorstore.add_texts(texts, metadatas, ids=ids, **kwargs)
        return vectorstore

    # -- changes ------------------------------------------------------------------------

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: Sequence[str | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and add texts; an id left out (or None) gets a new uuid4 hex, an id the
        knowledge base holds is replaced."""
        _no_options(kwargs)
        texts = list(texts)
        metadatas = list(metadatas) if metadatas is not None else [{} for _ in texts]
        given = list(ids) if ids is not None else [None] * len(texts)
        if not len(metadatas) == len(given) == len(texts):
            raise ValueError(
                f"{len(texts)} texts but {len(metadatas)} metadatas and {len(given)} ids"
            )
        chosen = [i if i is not None else uuid.uuid4().hex for i in given]
        if len(set(chosen)) != len(chosen):
            raise ValueError("the same id is given twice: one document per id")
        chunks = [
            Document(id=i, page_content=t, metadata=_stored_metadata(t, m))
            for i, t, m in zip(chosen, texts, metadatas, strict=True)
        ]
        vectors = self.embeddings.embed_documents(texts) if texts else []
        self.delete(list(self.knowledge_base.documents_by_id(chosen)))
        self.knowledge_base.add(chosen, chunks, [np.asarray(v, dtype=np.float32) for v in vectors])
        files = self.knowledge_base.manifest.files
        for chunk in chunks:
            record = files.setdefault(chunk.metadata["source"], FileRecord("", 0, [], 0.0))
            record.chunk_ids.append(str(chunk.id))
            record.indexed_at = time.time()
        return chosen

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool:
        """Remove these chunks (ids it does not hold are ignored); None: every chunk, as
        LangChain's interface says. A manifest entry left without chunks goes too."""
        _no_options(kwargs)
        knowledge_base = self.knowledge_base
        gone = set(knowledge_base.ids if ids is None else knowledge_base.documents_by_id(ids))
        if not gone:
            return True
        knowledge_base.remove(list(gone))
        files = knowledge_base.manifest.files
        for source, record in list(files.items()):
            record.chunk_ids = [i for i in record.chunk_ids if i not in gone]
            if not record.chunk_ids:
                del files[source]
        return True

    # -- reading ------------------------------------------------------------------------

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The chunks of these ids, in their order; ids it does not hold are left out."""
        held = self.knowledge_base.documents_by_id(ids)
        return [_without_filled(held[i]) for i in ids if i in held]

    def similarity_search(
        self, query: str, k: int = 4, *, filter: MetadataFilter | None = None, **kwargs: Any
    ) -> list[Document]:
        return [d for d, _ in self.similarity_search_with_score(query, k, filter=filter, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, *, filter: MetadataFilter | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        vector = self.embeddings.embed_query(query)
        return self.similarity_search_with_score_by_vector(vector, k, filter=filter, **kwargs)

    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        *,
        filter: MetadataFilter | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        found = self.similarity_search_with_score_by_vector(embedding, k, filter=filter, **kwargs)
        return [d for d, _ in found]

    def similarity_search_with_score_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        *,
        filter: MetadataFilter | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """The `k` closest chunks, best first, with the inner product as score."""
        _no_options(kwargs)
        query = np.asarray(embedding, dtype=np.float32)
        ids = self.knowledge_base.search(query, k, self._allowed(filter))
        stored = self.knowledge_base.vectors_by_id(ids)
        return [(self._document(i), float(stored[i] @ query)) for i in ids]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Cosine similarity in [-1, 1] to relevance in [0, 1]."""
        return lambda score: (1.0 + score) / 2.0

    def _allowed(self, chosen: MetadataFilter | None) -> set[str] | None:
        if chosen is None or (isinstance(chosen, ChunkFilter) and chosen.is_empty):
            return None
        if isinstance(chosen, ChunkFilter):
            return self.knowledge_base.matching(chosen)
        return {str(d.id) for d in self.knowledge_base.documents() if chosen(d.metadata)}

    def _document(self, chunk_id: str) -> Document:
        return _without_filled(self.knowledge_base.document(chunk_id))


def _without_filled(chunk: Document) -> Document:
    """A copy of the chunk, without the metadata this class filled in."""
    metadata = copy.deepcopy(chunk.metadata)
    for key in metadata.pop(FILLED_KEY, []):
        del metadata[key]
    return Document(id=chunk.id, page_content=chunk.page_content, metadata=metadata)


def _stored_metadata(text: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata as the knowledge base keeps it: `source` and `hash` filled in if missing."""
    metadata = copy.deepcopy(dict(given))
    if FILLED_KEY in metadata:
        raise ValueError(f"metadata key {FILLED_KEY!r} is ragchat's own")
    if "hash" in metadata and metadata["hash"] != content_hash(text):
        raise ValueError(
            "metadata 'hash' is ragchat's content hash of the text (loaders.chunking."
            "content_hash) and differs from it here: leave it out, or rename that key"
        )
    if not isinstance(metadata.get("source", ""), str):
        raise ValueError("metadata 'source' names a file: it must be text")
    filled = [key for key in ("source", "hash") if key not in metadata]
    metadata.setdefault("source", DEFAULT_SOURCE)
    metadata.setdefault("hash", content_hash(text))
    if filled:
        metadata[FILLED_KEY] = filled
    return metadata


def _no_options(options: Mapping[str, Any]) -> None:
    """LangChain passes store-specific keyword arguments through; this store has none."""
    if options:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(options))}")
