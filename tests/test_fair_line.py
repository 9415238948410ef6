"""`RagService.stream` in the local model's line as the person who asks, at unit speed (the fake
embedder's index, LangChain's fake chat models): the place is taken by the call, so a person
with `limit` requests waiting is refused at once with QueueFull, before anything streams; a
stream dropped before it started gives its place back; and another person's request is
answered next. The API's side is in test_api_fair_share.py."""

from __future__ import annotations

import gc
import threading

import pytest

from config import RetrievalSettings, Settings
from index.knowledge_base import KnowledgeBase
from llms.queue import ModelQueue, QueueFull
from services.answering import Answer, RagService
from services.people import Person, Role
from tests.support.fakes import fake_models

AMY, BOB = Person(1, "amy", Role.EDITOR), Person(2, "bob", Role.READER)
QUESTION = "困惑度是什么？"


@pytest.fixture
def rag(fake_kb: KnowledgeBase) -> RagService:
    settings = Settings(retrieval=RetrievalSettings(translate_query="off", answer_similarity=-1))
    models = fake_models(["困惑度越低越好。"])
    return RagService(settings, fake_kb, "local", models, ModelQueue(limit=2))


def test_the_place_in_line_is_taken_by_the_call_and_refused_past_the_limit(rag):
    seated = rag.stream(QUESTION, person=AMY)
    waiting = [rag.stream(QUESTION, person=AMY) for _ in range(2)]
    assert len(rag.queue) == 3  # one in the seat, two waiting: amy's limit
    with pytest.raises(QueueFull) as refused:
        rag.stream(QUESTION, person=AMY)
    assert refused.value.http_status == 429 and refused.value.retry_after >= 1
    bobs = rag.stream(QUESTION, person=BOB)  # the limit is per person
    assert len(rag.queue) == 4

    del waiting[1]  # dropped before anything streamed: its place is given back
    gc.collect()
    assert len(rag.queue) == 3
    for stream in (seated, bobs, waiting[0]):
        assert not [e for e in stream if isinstance(e, Answer)][0].error
    assert len(rag.queue) == 0


def test_another_persons_request_goes_before_the_rest_of_a_persons_line(rag):
    rag.queue.limit = None
    streams = [(f"amy-{n}", rag.stream(QUESTION, person=AMY)) for n in range(4)]
    streams.append(("bob", rag.stream(QUESTION, person=BOB)))
    finished: list[str] = []

    def answer(label: str, stream) -> None:
        if any(isinstance(event, Answer) for event in stream):
            finished.append(label)

    threads = [threading.Thread(target=answer, args=pair) for pair in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert finished == ["amy-0", "bob", "amy-1", "amy-2", "amy-3"]  # amy's first was seated
    assert len(rag.queue) == 0
