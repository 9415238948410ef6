"""The answer service's wiring in the fast lane: a real index of the sample notes built by the
fake embedder (`fake_kb`) and LangChain's fake chat models, so the path from question to
`Answer` (queue, retrieval, prompt, streaming, citation check, refusal) runs in milliseconds.
The same seams run over the real embedder in test_service.py and test_support.py, and with the
real models in test_api.py, test_app.py and test_ask_cli.py."""

from __future__ import annotations

import threading

import pytest
from langchain_core.documents import Document

from config import RetrievalSettings, Settings
from index.filters import ChunkFilter
from index.knowledge_base import KnowledgeBase
from llms import ChatModels
from llms.queue import ModelQueue
from services.answering import Answer, AnswerOptions, RagService, Waiting
from tests.support.fakes import fake_models
from text.language import REFUSALS
from text.normalize import normalize_text

QUOTED = "困惑度为 100 的模型，在每个位置上好像要从 100 个等可能的词里做选择"
"""A sentence of ngram-language-models.md as a model writes it (the index holds it NFKC)."""
QUESTION = "困惑度为 100 是什么意思？"
INVENTED = "Mount Everest is 2488 kilometers [1]."


@pytest.fixture
def service(fake_kb: KnowledgeBase):
    """A service over `fake_kb` with `models`; the model is always asked (answer_similarity
    -1), the question not translated; keyword arguments are retrieval settings."""

    def make(
        models: ChatModels, queue: ModelQueue | None = None, profile: str = "local", **retrieval
    ) -> RagService:
        settings = RetrievalSettings(translate_query="off", answer_similarity=-1, **retrieval)
        queue = queue if queue is not None else ModelQueue()
        return RagService(Settings(retrieval=settings), fake_kb, profile, models, queue)

    return make


def streamed(rag: RagService, question: str, **kwargs) -> tuple[str, Answer]:
    """The text pieces shown while answering, joined, and the final `Answer`."""
    events = list(rag.stream(question, **kwargs))
    return "".join(e for e in events if isinstance(e, str)), events[-1]


def test_a_quoted_sentence_is_shown_as_streamed_and_cited_to_the_passage_it_came_from(service):
    """The model's marker names a passage it was not shown: the check cites the one it quotes."""
    rag = service(fake_models([f"{QUOTED} [3]。"]))
    shown, answer = streamed(rag, QUESTION)
    assert isinstance(answer, Answer) and not answer.error
    assert shown == answer.text and "[3]" not in answer.text and not answer.unsupported
    (cited,) = answer.cited
    card = answer.sources[cited - 1]
    assert card.source == "ngram-language-models.md" and normalize_text(QUOTED) in card.text
    chunk = rag.knowledge_base.document(card.id)
    assert card.text == chunk.page_content
    assert (card.start, card.end) == (chunk.metadata["start"], chunk.metadata["end"])
    assert {"queued_s", "retrieval_s", "first_token_s", "total_s"} <= set(answer.timings)


def test_the_model_reads_the_passages_numbered_as_the_cards_the_user_sees(service):
    models = fake_models([QUOTED])
    answer = service(models, context_tokens=2000).answer(QUESTION, options=AnswerOptions(k=4))
    (messages,) = models.llm.prompts
    prompt = messages[-1].content
    assert QUESTION in prompt and len(answer.sources) > 1
    positions = [prompt.index(f"[{card.n}]") for card in answer.sources]
    assert positions == sorted(positions)
    for card, start in zip(answer.sources, positions, strict=True):
        assert card.text[:20] in prompt[start:]


def test_an_answer_nothing_supports_is_refused_on_a_local_profile_and_flagged_on_a_remote_one(
    service,
):
    shown, refused = streamed(service(fake_models([INVENTED])), "How tall is Mount Everest?")
    assert shown == refused.text == REFUSALS["en"]
    assert refused.withheld == "Mount Everest is 2488 kilometers." and not refused.cited
    remote = service(fake_models([INVENTED], exclusive=False), profile="openai")
    shown, flagged = streamed(remote, "How tall is Mount Everest?")
    assert shown == flagged.text == "Mount Everest is 2488 kilometers."
    assert flagged.unsupported == [flagged.text] and not flagged.cited


def test_a_request_hears_how_many_are_ahead_until_its_turn(service):
    queue = ModelQueue()
    first, second = queue.join("someone"), queue.join("someone else")
    stream = service(fake_models([QUOTED]), queue).stream(QUESTION)
    assert next(stream) == Waiting(ahead=2)
    queue.leave(first)
    assert next(stream) == Waiting(ahead=1)
    queue.leave(second)
    rest = list(stream)
    assert isinstance(rest[-1], Answer) and not rest[-1].error and len(queue) == 0


def test_giving_up_in_line_or_mid_answer_frees_the_place(service):
    queue = ModelQueue()
    busy = queue.join("someone")
    rag = service(fake_models([f"{QUOTED}。一 二 三 四 五 六"]), queue)
    cancel = threading.Event()
    waiting = rag.stream(QUESTION, cancel=cancel)
    assert isinstance(next(waiting), Waiting)
    cancel.set()
    assert list(waiting)[-1].error_code == "cancelled" and len(queue) == 1
    queue.leave(busy)
    answering = rag.stream(QUESTION)
    assert isinstance(next(answering), str) and len(queue) == 1
    answering.close()  # a closed browser tab, a dropped connection
    assert len(queue) == 0


def test_per_request_options_reach_retrieval_and_the_model_call(service):
    temperatures: list = []
    rag = service(fake_models(["好。"], temperatures=temperatures))
    assert len(rag.answer("什么是困惑度？", options=AnswerOptions(k=1)).sources) == 1
    only = AnswerOptions(k=4, filter=ChunkFilter(sources=frozenset({"smoothing.md"})))
    assert {card.source for card in rag.answer("什么是困惑度？", options=only).sources} == {
        "smoothing.md"
    }
    rag.answer("什么是困惑度？", options=AnswerOptions(temperature=0.7))
    assert temperatures == [None, None, 0.7]
    bm25 = rag.retrieve("Kneser-Ney", AnswerOptions(mode="bm25", k=2))
    assert bm25 and all(d.metadata["ranks"].keys() == {"bm25"} for d in bm25)


def test_a_follow_up_is_rewritten_with_the_history_before_retrieval(service):
    models = fake_models(["困惑度的数值越低说明什么？", f"{QUOTED}。"])
    answer = service(models).answer("它越低说明什么？", history=[("什么是困惑度？", "…")])
    assert answer.standalone_question == "困惑度的数值越低说明什么？"
    rewrite, reply = models.llm.prompts
    assert "什么是困惑度？" in str(rewrite) and "困惑度的数值越低说明什么？" in str(reply)
    assert answer.text.startswith(QUOTED)


def test_given_passages_are_the_ones_answered_from(service):
    """`AnswerOptions.passages` replaces the search (the faithfulness and oracle evaluations):
    the model reads exactly them, and the answer is checked against them."""
    changed = Document(
        page_content="困惑度为 7 的模型，在每个位置上好像要从 7 个等可能的词里做选择。",
        metadata={"source": "changed.md"},
    )
    rag = service(fake_models(["困惑度为 7 的模型，好像要从 7 个等可能的词里做选择。"]))
    _, answer = streamed(rag, QUESTION, options=AnswerOptions(kind="lookup", passages=(changed,)))
    assert [card.text for card in answer.sources] == [changed.page_content]
    assert answer.cited == [1] and not answer.unsupported
