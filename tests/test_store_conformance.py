"""LangChain's standard vector-store suite against ragchat's own
`index.vectorstore.KnowledgeBaseVectorStore` over a knowledge base kept in FAISS segments
(`TestKnowledgeBaseFaiss`) and in Milvus Lite (`TestKnowledgeBaseMilvus`).

(ragchat's Milvus store reads and writes its rows through pymilvus, with fields langchain-milvus
does not know: its BM25 sparse vectors, term counts and sentence vectors. So langchain-milvus's
own `Milvus` class is no longer run against ragchat's collections.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests.vectorstores import (
    VectorStoreIntegrationTests,
)

from config import StoreSettings
from index.filters import ChunkFilter
from index.knowledge_base import KnowledgeBase
from index.stores.milvus.client import release
from index.vectorstore import DEFAULT_SOURCE, KnowledgeBaseVectorStore, langchain_embedder
from index.versions import load_index, save_index
from loaders.chunking import content_hash


class TestKnowledgeBaseFaiss(VectorStoreIntegrationTests):
    """ragchat's own vector store over a knowledge base in FAISS segments (from_texts)."""

    @pytest.fixture
    def vectorstore(self) -> VectorStore:
        return KnowledgeBaseVectorStore.from_texts([], self.get_embeddings())


def _milvus_settings(folder: Path) -> StoreSettings:
    return StoreSettings(backend="milvus", uri=str(folder / "m.db"))


class TestKnowledgeBaseMilvus(VectorStoreIntegrationTests):
    """ragchat's own vector store over a knowledge base in a Milvus Lite collection."""

    @pytest.fixture
    def vectorstore(self, tmp_path: Path) -> Iterator[VectorStore]:
        settings = _milvus_settings(tmp_path)
        try:
            embedder = langchain_embedder(self.get_embeddings())
            yield KnowledgeBaseVectorStore(KnowledgeBase.empty(embedder, {}, settings))
        finally:
            release(settings)


@pytest.mark.parametrize("backend", ["faiss", "milvus"])
def test_saved_and_loaded_like_an_ingest(tmp_path: Path, backend: str) -> None:
    """What is added through the vector store is in the manifest, saved, and read back as it
    was given, on either store."""
    settings = _milvus_settings(tmp_path) if backend == "milvus" else StoreSettings()
    embedder = langchain_embedder(VectorStoreIntegrationTests.get_embeddings())
    foo = Document("foo", id="f", metadata={"id": 1})
    bar = Document("bar", id="b", metadata={"source": "notes/a.md", "page": 2})
    try:
        knowledge_base = KnowledgeBase.empty(embedder, {}, settings)
        vectorstore = KnowledgeBaseVectorStore(knowledge_base)
        vectorstore.add_documents([foo, bar])
        vectorstore.add_texts(["baz"], ids=["z"])
        vectorstore.delete(["z"])
        assert {s: r.chunk_ids for s, r in knowledge_base.manifest.files.items()} == {
            DEFAULT_SOURCE: ["f"],
            "notes/a.md": ["b"],
        }
        save_index(knowledge_base, tmp_path / "index")
        loaded = load_index(tmp_path / "index", embedder, settings)
        loaded.check_consistent()
        again = KnowledgeBaseVectorStore(loaded)
        assert again.get_by_ids(["f", "b", "z"]) == [foo, bar]
        assert again.similarity_search("bar", k=1) == [bar]
    finally:
        release(settings)


def test_filters_scores_and_retriever() -> None:
    embeddings = VectorStoreIntegrationTests.get_embeddings()
    vectorstore = KnowledgeBaseVectorStore.from_texts(
        ["foo", "bar", "baz"],
        embeddings,
        [{"source": "a.md"}, {"source": "b.md"}, {"source": "b.md", "tag": "x"}],
        ids=["1", "2", "3"],
    )
    only_b = ChunkFilter(sources=frozenset({"b.md"}))
    assert {d.id for d in vectorstore.similarity_search("foo", k=3, filter=only_b)} == {"2", "3"}
    tagged = vectorstore.similarity_search("foo", k=3, filter=lambda m: m.get("tag") == "x")
    assert [d.id for d in tagged] == ["3"]
    found = vectorstore.similarity_search_with_score("bar", k=3)
    vectors = dict(zip("123", embeddings.embed_documents(["foo", "bar", "baz"]), strict=True))
    query = embeddings.embed_query("bar")
    for document, score in found:
        assert score == pytest.approx(float(np.dot(vectors[str(document.id)], query)), rel=1e-5)
    assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    retriever = vectorstore.as_retriever(search_kwargs={"k": 1, "filter": only_b})
    assert retriever.invoke("bar") == [Document("bar", id="2", metadata={"source": "b.md"})]


def test_metadata_the_knowledge_base_needs() -> None:
    """`source` and `hash` are filled in and kept out of what is returned; a `hash` that is
    not the text's content hash is refused; returned metadata is a copy."""
    vectorstore = KnowledgeBaseVectorStore.from_texts(
        ["foo"], VectorStoreIntegrationTests.get_embeddings(), ids=["1"]
    )
    stored = vectorstore.knowledge_base.document("1").metadata
    assert (stored["source"], stored["hash"]) == (DEFAULT_SOURCE, content_hash("foo"))
    returned = vectorstore.get_by_ids(["1"])[0]
    assert returned.metadata == {}
    returned.metadata["tags"] = ["changed"]
    assert vectorstore.get_by_ids(["1"])[0].metadata == {}
    given = {"source": "b.md", "hash": content_hash("bar")}
    vectorstore.add_texts(["bar"], [given], ids=["2"])
    assert vectorstore.get_by_ids(["2"])[0].metadata == given
    with pytest.raises(ValueError, match="content hash"):
        vectorstore.add_texts(["baz"], [{"hash": "mine"}])
    assert vectorstore.knowledge_base.manifest.chunk_ids() == {"1", "2"}
