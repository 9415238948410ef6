"""`embedding.cache` (`index.embeddings.cached`): a text embedded once is read back, not
embedded again, by the next ingest (a rebuild, another store), and never by another model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from langchain_core.embeddings import Embeddings

from config import EmbeddingSettings
from index.embeddings import Embedder, build_embedder, cached
from tests.support.fakes import fake_embedder

TEXTS = ["困惑度衡量语言模型的预测能力。", "BPE merges the most frequent pair of symbols."]


class Counting(Embeddings):
    """Passes calls on, counting the texts it was asked to embed."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner, self.texts = inner, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def _counting(embedder: Embedder) -> tuple[Embedder, Counting]:
    counting = Counting(embedder.embeddings)
    return Embedder(counting, embedder.identity, embedder.count_tokens), counting


def test_a_text_is_embedded_once_and_only_for_its_own_model(tmp_path):
    plain, first = _counting(fake_embedder())
    vectors = cached(plain, tmp_path).embeddings.embed_documents(TEXTS)
    again = cached(plain, tmp_path).embeddings.embed_documents([*TEXTS, "new"])
    assert first.texts == 3  # the two cached texts were read back
    assert np.allclose(again[:2], vectors)

    other_model = replace(fake_embedder().identity, model="other")
    other, counting = _counting(Embedder(fake_embedder().embeddings, other_model, len))
    cached(other, tmp_path).embeddings.embed_documents(TEXTS)
    assert counting.texts == 2  # another identity never reads these vectors


def test_the_bundled_embedder_reads_back_what_it_wrote(tmp_path):
    settings = EmbeddingSettings(cache=tmp_path / "cache")
    fresh = build_embedder(EmbeddingSettings()).embeddings.embed_documents(TEXTS)
    build_embedder(settings).embeddings.embed_documents(TEXTS)
    read_back = build_embedder(settings).embeddings.embed_documents(TEXTS)
    assert np.allclose(read_back, fresh, atol=1e-6)
    assert any((tmp_path / "cache").iterdir())
