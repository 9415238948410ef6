"""Claim-level support (`chains.claims` through `chains.citations`): a cited sentence must have
its key terms stated by the passage, and the answer's first claim must answer the question.

The cases are the cited falsehoods the bundled model wrote for questions no note answers
(tests/data/absent_qa.jsonl), over passages written here in the same shape. The embedder's
similarity is stood in for by one that finds every passage similar enough, as it did for these
sentences; the checker before claim-level support (commit 0bcaef0) cited every one of them."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from chains.citations import Support, check_citations
from chains.claims import key_terms, missing_terms, off_question

SIMILAR = Support(similar=lambda claim, sources: [0.05] * len(sources))
"""The embedder finding a sentence of each passage close enough to the claim."""

FALSEHOODS = [
    pytest.param(
        "RLHF 里常用的 PPO 算法全称是什么？",
        "RLHF 中常用 PPO 算法来优化策略模型，奖励模型负责打分。",
        "PPO 算法全称是 Policy Optimization with Predictive Control [1]。",
        "Policy",
        id="an invented expansion",
    ),
    pytest.param(
        "How much did it cost to train GPT-3?",
        "GPT-3 有 1750亿个参数，训练它需要海量的数据。",
        "GPT-3的训练成本约为1750亿个参数。[1]",
        "成本",
        id="a number about something else",
    ),
    pytest.param(
        "word2vec 是谁在哪家公司提出的？",
        "Word2vec 把词语转换成一个又一个向量，是一种词嵌入方法。",
        "Word2vec 是由 Google 提供的 [1]。",
        "Google",
        id="a name no passage gives",
    ),
    pytest.param(
        "How long is the context window of Llama 2?",
        "LLaMA 用 14,000亿 tokens 的语料训练，上下文长度为 2048。",
        "14,000亿 tokens[1]",
        "Llama 2",
        id="a fragment about another model",
    ),
    pytest.param(
        "训练 GPT-3 一共花了多少钱？",
        "GPT-3 的训练需要大量计算资源和时间，通常要用分布式计算和大规模集群。",
        "GPT-3的训练需要大量计算资源和时间，通常要用分布式计算和大规模集群。[1]",
        "quantity",
        id="no number for a how-much question",
    ),
    pytest.param(
        "Who proposed word2vec, and at which company?",
        "Word2vec 从名称可以看出是把词语变成向量。",
        "Word2vec [1] 提出了。",
        "nothing the question does not",
        id="an answer restating the question",
    ),
]

SUPPORTED = [
    pytest.param(
        "困惑度说明了什么？",
        "困惑度(perplexity)越低，说明语言模型越好。",
        "困惑度越低，语言模型越好 [1]。",
        id="a paraphrase in the passage's words",
    ),
    pytest.param(
        "BPE 遇到没见过的词怎么办？",
        "BPE 会把不在词汇表中的词拆分成更小的子词单元。",
        "BPE 把词表外的词拆成子词 [1]。",
        id="a shortened term (词表 for 词汇表)",
    ),
    pytest.param(
        "How many parameters does GPT-3 have?",
        "GPT-3 有 1750亿个参数。",
        "GPT-3 has 175 billion parameters [1].",
        id="across languages, with its number by value",
    ),
    pytest.param(
        "Besides the current input, what does an RNN hidden layer receive?",
        "RNN 的隐藏层除了当前输入，还接收上一时刻的隐藏状态。",
        "RNN hidden layer receives 上一时刻的隐藏状态 [1]。",
        id="the question's own words restated",
    ),
    pytest.param(
        "大语言模型一般有多少参数？",
        "大语言模型通常拥有数百亿甚至数千亿个参数。",
        "大语言模型通常拥有数百亿个参数 [1]。",
        id="a quantity in Chinese numerals",
    ),
]


@pytest.mark.parametrize(("question", "passage", "answer", "why"), FALSEHOODS)
def test_a_cited_falsehood_loses_its_citation_and_says_why(question, passage, answer, why):
    checked = check_citations(answer, [Document(page_content=passage)], SIMILAR, question)
    assert "[1]" not in checked.text
    assert not checked.supported and len(checked.unsupported) == 1
    assert why in str(checked.why[checked.unsupported[0]])


@pytest.mark.parametrize(("question", "passage", "answer"), SUPPORTED)
def test_a_stated_claim_keeps_its_citation(question, passage, answer):
    checked = check_citations(answer, [Document(page_content=passage)], SIMILAR, question)
    assert checked.supported and not checked.unsupported, checked.why
    assert "[1]" in checked.text


def test_key_terms_are_names_technical_terms_and_uncommon_nouns():
    assert key_terms("GPT-3的训练成本约为1750亿个参数。") == ["GPT-3", "训练", "成本", "参数"]
    assert "时间" not in key_terms("训练需要很长的时间。")  # common: any answer may use it
    english = key_terms("The context window of Llama 2 is set by GPT-4 and word2vec.")
    assert english == ["Llama 2", "GPT-4", "word2vec"]  # not "The": it opens the sentence


def test_a_chinese_term_is_not_looked_up_in_an_english_passage():
    assert missing_terms("装饰器会包装函数。", "A decorator wraps a function.") == []
    assert missing_terms("functools 的装饰器", "A decorator wraps a function.") == ["functools"]


def test_off_question_is_silent_for_a_fitting_answer():
    assert (
        off_question("GPT-3 有 1750亿个参数。", "GPT-3 有多少参数？", "GPT-3 有 1750亿个参数", 8)
        is None
    )
    assert off_question("GRU 有更新门和重置门。", "GRU里有哪几个门？", "更新门和重置门", 8) is None


@pytest.mark.parametrize(
    "answer", ["一比十五。", "须在二十四小时内修改。", "每公斤体重五十毫升。", "六小时内送达。"]
)
def test_chinese_numerals_answer_a_how_much_question(answer):
    assert off_question(answer, "需要多少？", answer, 8) is None
    assert off_question("它一般很快。", "需要多少？", answer, 8) is not None  # 一般 is no number
