from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document

from chains.citations import (
    CitationStream,
    attribute_citations,
    check_citations,
    cited_numbers,
    fit_to_budget,
    format_context,
    supporting_sentence,
)
from llms import estimate_tokens

SOURCES = [
    Document(
        page_content="BPE 从单个字符开始，不断合并语料中最常见的相邻符号对。",
        metadata={"source": "bpe.md"},
    ),
    Document(
        page_content="Dot-product attention divides scores by the square root of the key size.",
        metadata={"source": "attention.pdf", "page": 3},
    ),
]


def test_context_numbers_passages_and_names_pages():
    context = format_context(SOURCES)
    assert context.startswith("[1] (bpe.md)\nBPE")
    assert "[2] (attention.pdf, p. 3)\nDot-product" in context


def test_sentences_get_the_passage_they_come_from():
    answer = (
        "BPE 会不断合并最常见的相邻符号对。\n"
        "The scores are divided by the square root of the key size. 谢谢。"
    )
    annotated = attribute_citations(answer, SOURCES)
    assert annotated == (
        "BPE 会不断合并最常见的相邻符号对。[1]\n"
        "The scores are divided by the square root of the key size.[2] 谢谢。"
    )
    assert cited_numbers(annotated, 2) == [1, 2]


def test_supported_markers_are_kept_and_markers_naming_no_passage_dropped():
    answer = "Scores are divided by the square root of the key size [2]。另见 [7]。"
    assert attribute_citations(answer, SOURCES) == (
        "Scores are divided by the square root of the key size [2]。另见。"
    )
    assert cited_numbers(answer, 2) == [2]
    assert attribute_citations("It uses a loss function [3].", SOURCES[:1]) == (
        "It uses a loss function."
    )


def test_a_sentence_no_passage_supports_loses_its_markers_and_is_reported():
    """Without the embedder (`tests/test_support.py`), support is shared content alone."""
    checked = check_citations("注意力要除以维度的平方根 [2]。BPE 不断合并相邻符号对 [2]。", SOURCES)
    assert checked.text == "注意力要除以维度的平方根。BPE 不断合并相邻符号对 [1]。"
    assert checked.unsupported == ["注意力要除以维度的平方根。"]
    assert checked.supported == ["BPE 不断合并相邻符号对。"]


def test_unrelated_answer_gets_no_citation():
    answer = "The documents do not contain the answer to this question."
    assert attribute_citations(answer, SOURCES) == answer


def test_budget_keeps_the_best_passages_that_fit():
    long = Document(page_content="长" * 400, metadata={"source": "long.md"})
    assert fit_to_budget(SOURCES + [long], estimate_tokens, 80) == SOURCES
    cut = fit_to_budget([long], estimate_tokens, 100)
    assert len(cut) == 1 and 0 < len(cut[0].page_content) < 400


def test_a_marker_naming_a_passage_that_does_not_support_the_sentence_is_corrected():
    answer = "BPE 会不断合并最常见的相邻符号对 [2]。Scores are divided by the key size [2]."
    assert attribute_citations(answer, SOURCES) == (
        "BPE 会不断合并最常见的相邻符号对 [1]。Scores are divided by the key size [2]."
    )


def test_a_claim_becomes_the_sentence_that_supports_it():
    text = "BPE 从单个字符开始。它不断合并语料中最常见的相邻符号对。最后得到词表。"
    assert supporting_sentence("BPE 会合并最常见的相邻符号对", text) == (
        "它不断合并语料中最常见的相邻符号对。"
    )
    assert supporting_sentence("完全无关的句子内容在这里", text) is None


def test_a_short_answer_is_cited_only_where_all_of_it_appears():
    assert attribute_citations("符号对。", SOURCES) == "符号对。[1]"
    assert attribute_citations("The square root", SOURCES) == "The square root[2]"
    assert attribute_citations("A square meter", SOURCES) == "A square meter"


def test_a_sentence_stating_a_number_its_passage_does_not_is_unsupported():
    """Shared words alone would count an invented number as supported."""
    passages = [Document(page_content="GPT-3 有 1750亿 个参数，训练用了 3000亿 个词元。")]
    checked = check_citations("GPT-3 有 1750亿 个参数。GPT-3 有 2000亿 个参数 [1]。", passages)
    assert checked.text == "GPT-3 有 1750亿 个参数。[1]GPT-3 有 2000亿 个参数。"
    assert checked.unsupported == ["GPT-3 有 2000亿 个参数。"]
    assert check_citations("GPT-4 有 1750亿 个参数。", passages).unsupported


@settings(max_examples=300, deadline=None)
@given(
    sentences=st.lists(
        st.sampled_from(
            [
                "BPE 不断合并最常见的相邻符号对 [2]。",
                "Attention divides scores by the square root of the key size.",
                "BPE 从单个字符开始",
                " [9]",
                "DPO skips the separate reward model [1]. ",
                "先从文档中检索相关段落",
                "[x] 不是标记！",
                "\n",
                " ",
            ]
        ),
        max_size=8,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=12),
    refuse=st.booleans(),
)
def test_a_streamed_answer_shows_exactly_its_checked_text(sentences, cuts, refuse):
    """Whatever pieces the model's text arrives in, the shown pieces add up to the checked
    answer (or to the refusal, when nothing in it is supported and unsupported answers are
    refused), and nothing shown is ever taken back."""
    answer = "".join(sentences)
    bounds = sorted({min(c, len(answer)) for c in cuts} | {0, len(answer)})
    stream = CitationStream(SOURCES, refusal="REFUSED" if refuse else None)
    shown = "".join(stream.feed(answer[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    shown += stream.finish()
    checked = check_citations(answer, SOURCES)
    refused = refuse and checked.text and not checked.supported
    assert shown == stream.text == ("REFUSED" if refused else checked.text)
