"""`RagService` wiring at unit speed: the real index and embedder, a fake chat model
(LangChain's GenericFakeChatModel), so the answer path is checked in milliseconds per answer.
The real models go through the same path in test_api.py, test_app.py and test_ask_cli.py."""

from __future__ import annotations

import threading

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from chains.rag import ANSWER_SYSTEM
from config import PathsSettings, RetrievalSettings, Settings
from index.filters import ChunkFilter
from llms import ChatModels, LLMError, estimate_tokens
from llms.queue import ModelQueue
from services.answering import Answer, AnswerOptions, RagService, Waiting
from services.container import ServiceHub
from tests.support.fakes import fake_models
from tests.support.knowledge import sample_knowledge_base
from text.language import REFUSALS

PERPLEXITY_ANSWER = "困惑度是模型对测试集概率的几何平均的倒数。"


def service(
    models: ChatModels | LLMError, queue: ModelQueue | None = None, **retrieval
) -> RagService:
    settings = Settings(retrieval=RetrievalSettings(translate_query="off", **retrieval))
    return RagService(
        settings,
        sample_knowledge_base(),
        "local",
        models,
        queue if queue is not None else ModelQueue(),
    )


def events(rag: RagService, question: str, **kwargs) -> list:
    return list(rag.stream(question, **kwargs))


def test_stream_yields_pieces_then_an_answer_with_checked_citations_and_cards():
    rag = service(fake_models([PERPLEXITY_ANSWER]))
    streamed = events(rag, "什么是困惑度？")
    answer = streamed[-1]
    assert isinstance(answer, Answer) and not answer.error
    assert "".join(e for e in streamed if isinstance(e, str)) == answer.text  # streamed checked
    assert answer.text.startswith(PERPLEXITY_ANSWER) and answer.cited
    card = answer.sources[answer.cited[0] - 1]
    assert card.source == "ngram-language-models.md" and card.n == answer.cited[0]
    chunk = rag.knowledge_base.document(card.id)
    assert card.text == chunk.page_content and (card.start, card.end) == (
        chunk.metadata["start"],
        chunk.metadata["end"],
    )
    assert {"queued_s", "retrieval_s", "first_token_s", "total_s"} <= set(answer.timings)


def test_per_request_options_change_the_call_not_the_service():
    temperatures: list = []
    rag = service(fake_models(["好。"], temperatures=temperatures), k=4, context_tokens=2000)
    wide = rag.answer("什么是困惑度？")
    narrow = rag.answer("什么是困惑度？", options=AnswerOptions(k=1, temperature=0.7))
    assert len(wide.sources) > 1 and len(narrow.sources) == 1
    assert temperatures == [None, 0.7]
    only_smoothing = AnswerOptions(filter=ChunkFilter(sources=frozenset({"smoothing.md"})))
    only = rag.answer("什么是困惑度？", options=only_smoothing)
    assert {card.source for card in only.sources} == {"smoothing.md"}
    bm25 = rag.retrieve("Kneser-Ney", AnswerOptions(mode="bm25", k=2))
    assert all(d.metadata["ranks"].keys() == {"bm25"} for d in bm25)


def test_history_turns_reach_the_rewrite_step():
    models = fake_models(["它的数值越低说明什么？", "说明模型越好。"])
    answer = service(models).answer("它越低说明什么？", history=[("什么是困惑度？", "…")])
    assert answer.standalone_question == "它的数值越低说明什么？"
    assert answer.text.startswith("说明模型越好")


def test_a_request_waits_its_turn_and_says_how_many_are_ahead():
    queue = ModelQueue()
    rag = service(fake_models(["好。"]), queue)
    busy = queue.join()  # someone else is being answered
    stream = rag.stream("什么是困惑度？")
    assert next(stream) == Waiting(ahead=1)
    queue.leave(busy)
    rest = list(stream)
    assert isinstance(rest[-1], Answer) and not rest[-1].error and len(queue) == 0


def test_cancelling_while_waiting_or_closing_mid_answer_frees_the_seat():
    queue = ModelQueue()
    rag = service(fake_models([PERPLEXITY_ANSWER + " 一 二 三 四 五 六 七 八"]), queue)
    busy = queue.join()
    cancel = threading.Event()
    waiting = rag.stream("什么是困惑度？", cancel=cancel)
    assert isinstance(next(waiting), Waiting)
    cancel.set()
    assert list(waiting)[-1].error_code == "cancelled" and len(queue) == 1
    queue.leave(busy)
    answering = rag.stream("什么是困惑度？")
    assert isinstance(next(answering), str) and len(queue) == 1
    answering.close()  # a closed browser tab or a dropped connection
    assert len(queue) == 0


def test_remote_backends_are_not_queued():
    queue = ModelQueue()
    rag = service(fake_models(["好。"], exclusive=False), queue)
    queue.join()  # a local request holds the model: the remote one need not wait
    assert not any(isinstance(e, Waiting) for e in events(rag, "什么是困惑度？"))


def test_a_model_that_cannot_be_built_still_shows_the_passages():
    rag = service(LLMError("no OpenAI API key: set OPENAI_API_KEY"))
    answer = rag.answer("Kneser-Ney smoothing")
    assert answer.error.startswith("no OpenAI API key") and answer.error_code == "model_unavailable"
    assert answer.sources and answer.sources[0].source == "smoothing.md"


def test_a_model_failing_mid_answer_is_explained():
    class Broken(GenericFakeChatModel):
        def _stream(self, *args, **kwargs):
            raise ConnectionError("socket closed")

    broken = Broken(messages=iter([]))
    models = ChatModels(broken, broken, False, estimate_tokens, lambda _t: {})
    answer = service(models).answer("什么是困惑度？")
    assert answer.error_code == "model_error" and "ConnectionError: socket closed" in answer.error
    assert answer.sources  # retrieved before the model failed


def test_hub_shares_models_and_reopens_the_index_after_an_ingest(tmp_path, docs):
    settings = Settings(paths=PathsSettings(documents=docs, index=tmp_path / "index"))
    hub = ServiceHub(settings)
    with pytest.raises(Exception, match="build it with `python ingest.py`"):
        hub.service(with_model=False)
    hub.ingest(on_message=lambda _: None)
    first = hub.service(with_model=False)
    assert hub.service(with_model=False) is first
    (docs / "extra.md").write_text(
        "# 新笔记\n\n注意力机制让模型关注输入的不同位置。", encoding="utf-8"
    )
    hub.ingest(on_message=lambda _: None)
    second = hub.service(with_model=False)
    assert second is not first and "extra.md" in second.knowledge_base.manifest.files
    with pytest.raises(LLMError, match="available: local, openai"):
        hub.service("nope")
    assert "(local, llama.cpp)" in hub.describe("local")


def test_a_question_no_passage_comes_close_to_is_refused_without_asking_the_model():
    """The sample notes say nothing about Australia: no sentence shown comes near the question
    (`retrieval.answer_similarity`), so the refusal comes at once and the model is not asked."""
    asked: list = []
    rag = service(fake_models(["澳大利亚的首都是悉尼 [1]。"], temperatures=asked))
    answer = rag.answer("澳大利亚的首都是哪里？")
    assert answer.text == REFUSALS["zh"] and asked == [] and answer.sources
    assert rag.answer("什么是困惑度？").text and len(asked) == 1  # a question the notes answer


def test_without_refuse_unsupported_the_model_is_always_asked():
    asked: list = []
    settings = Settings(retrieval=RetrievalSettings(translate_query="off", answer_similarity=0.99))
    settings.llm.profiles["local"].refuse_unsupported = False
    models = fake_models([PERPLEXITY_ANSWER], temperatures=asked)
    rag = RagService(settings, sample_knowledge_base(), "local", models, ModelQueue())
    assert rag.answer("什么是困惑度？").text.startswith(PERPLEXITY_ANSWER) and len(asked) == 1


class RecordingChatModel(GenericFakeChatModel):
    """A fake chat model that also keeps the messages of every call."""

    calls: list = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append(messages)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


@pytest.mark.parametrize(
    ("quote_languages", "question", "source", "prompt_language"),
    [
        (["zh"], "What is perplexity?", "smoothing.md", "zh"),
        (["zh"], "什么是余弦相似度？", "embeddings.md", "zh"),
        (["zh", "en"], "什么是余弦相似度？", "embeddings.md", "en"),
        (["zh"], "什么是困惑度？", "smoothing.md", "zh"),
        ([], "What is perplexity?", "smoothing.md", "en"),
    ],
)
def test_the_prompt_is_in_the_passages_language_where_the_model_should_quote_it(
    quote_languages, question, source, prompt_language
):
    """When the passage read first is in one of `quote_languages`, the model gets the prompt
    in that language (and so quotes it); otherwise in the question's."""
    settings = Settings(retrieval=RetrievalSettings(translate_query="off", answer_similarity=-1))
    settings.llm.profiles["local"].quote_languages = quote_languages
    llm = RecordingChatModel(messages=iter([AIMessage("好。")]), calls=[])
    models = ChatModels(llm, llm, True, estimate_tokens, lambda _temperature: {})
    rag = RagService(settings, sample_knowledge_base(), "local", models, ModelQueue())
    only = AnswerOptions(filter=ChunkFilter(sources=frozenset({source})))
    rag.answer(question, options=only)
    (messages,) = llm.calls
    assert messages[0].content == ANSWER_SYSTEM[prompt_language]


def test_a_refusal_in_the_passages_language_is_shown_in_the_questions():
    """The model, prompted in Chinese for an English question, refuses in Chinese: the user
    reads the refusal in the language they asked in."""
    settings = Settings(retrieval=RetrievalSettings(translate_query="off", answer_similarity=-1))
    rag = RagService(
        settings, sample_knowledge_base(), "local", fake_models([REFUSALS["zh"]]), ModelQueue()
    )
    only = AnswerOptions(filter=ChunkFilter(sources=frozenset({"smoothing.md"})))
    streamed = events(rag, "Who painted the Mona Lisa?", options=only)
    answer = streamed[-1]
    assert answer.text == REFUSALS["en"]
    assert "".join(e for e in streamed if isinstance(e, str)) == REFUSALS["en"]
