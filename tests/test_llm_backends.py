"""The real chat models: the bundled GGUF in-process, and llama-cpp-python's OpenAI-compatible
server on 127.0.0.1 for the `openai` backend (no mocks of the OpenAI client)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from langchain_community.chat_models import ChatLlamaCpp
from langchain_core.documents import Document
from langchain_openai import ChatOpenAI

from chains.citations import attribute_citations, cited_numbers, format_context
from chains.rag import ANSWER_SYSTEM, CONDENSE_SYSTEM, STOP, answer_prompts
from config import OpenAIProfile, Settings, load_settings
from llms import LLMError, build_chat_model, build_chat_models, explain
from llms.llamacpp_backend import RefusalMargin
from llms.local_server import free_port, llama_server
from llms.queue import ModelQueue
from services.answering import RagService
from tests.support.knowledge import sample_knowledge_base
from text.language import REFUSALS, is_refusal, question_language

SERVER_KEY = "test-key"


def rag_service(settings: Settings, profile: str | None = None) -> RagService:
    """The service over the sample notes with `profile` (default: the configured one)."""
    name = profile or settings.llm.profile
    models = build_chat_models(settings.llm.profiles[name], list(REFUSALS.values()))
    return RagService(settings, sample_knowledge_base(), name, models, ModelQueue())


@pytest.fixture(scope="module")
def local_profile():
    return load_settings().llm.profiles["local"]


@pytest.fixture(scope="module")
def server(local_profile, tmp_path_factory):
    """llama-cpp-python's server with the bundled model, on a free loopback port."""
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with open(log_path, "wb") as log:
        try:
            with llama_server(local_profile.model_path, log, SERVER_KEY, n_ctx=2048) as base_url:
                yield base_url
        except RuntimeError as err:
            pytest.fail(f"{err}: {log_path.read_bytes()[-2000:]!r}")


def server_profile(base_url: str, **changes) -> OpenAIProfile:
    values = {
        "model": "local",
        "base_url": base_url,
        "api_key": SERVER_KEY,
        "max_tokens": 48,
        "temperature": 0.0,
        "timeout": 60,
        "max_retries": 0,
    }
    return OpenAIProfile(**{**values, **changes})


def test_openai_backend_invokes_a_real_server(server):
    llm = build_chat_model(server_profile(server))
    assert isinstance(llm, ChatOpenAI)
    reply = llm.invoke("Reply with the single word: hello")
    assert "hello" in reply.content.lower()


def test_openai_backend_streams(server):
    llm = build_chat_model(server_profile(server))
    pieces = [chunk.content for chunk in llm.stream("Count from 1 to 5, separated by spaces.")]
    assert len([p for p in pieces if p]) > 3
    assert "3" in "".join(pieces)


def test_a_model_the_server_does_not_serve_is_named_with_the_ones_it_does(server):
    with pytest.raises(LLMError, match="model 'gpt-9' not found on the server; it serves: local"):
        build_chat_model(server_profile(server, model="gpt-9"))


def test_wrong_port_is_a_clear_error_within_the_timeout():
    llm = build_chat_model(server_profile(f"http://127.0.0.1:{free_port()}/v1", timeout=5))
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        llm.invoke("hi")
    assert time.monotonic() - started < 10
    assert "cannot reach the server" in str(explain(caught.value))


def test_wrong_key_is_a_clear_error(server):
    llm = build_chat_model(server_profile(server, api_key="wrong"))
    with pytest.raises(Exception) as caught:
        llm.invoke("hi")
    assert "rejected the API key" in str(explain(caught.value))


def test_missing_v1_in_base_url_is_explained(server):
    llm = build_chat_model(server_profile(server.removesuffix("/v1")))
    with pytest.raises(Exception) as caught:
        llm.invoke("hi")
    assert "base_url ends in /v1" in str(explain(caught.value))


def test_local_backend_is_the_default_and_answers_with_citations(local_profile):
    service = rag_service(load_settings())
    assert isinstance(service.models.llm, ChatLlamaCpp) and service.queue is not None
    streamed = list(service.stream("什么是困惑度？"))
    answer = streamed[-1]
    assert "".join(e for e in streamed if isinstance(e, str)) == answer.text
    assert answer.sources[0].source == "ngram-language-models.md"
    assert "几何平均" in answer.text  # the definition from the note, not the model's own
    assert answer.cited and all(1 <= n <= len(answer.sources) for n in answer.cited)


def test_the_local_model_streams_piece_by_piece(local_profile):
    """Without the support check (which holds an answer back until a finished sentence of it
    is supported), the model's pieces reach the reader as they come."""
    settings = load_settings()
    settings.llm.profiles["local"] = local_profile.model_copy(update={"refuse_unsupported": False})
    streamed = list(rag_service(settings).stream("什么是困惑度？"))
    assert len([e for e in streamed if isinstance(e, str)]) > 3


def test_follow_up_rewriting_runs_on_its_own_llama_context(local_profile):
    """The answer context keeps the answer prompt (its fixed prefix stays cached for the next
    question) while the helper context rewrites the follow-up (translation, which would run on
    it next over these mixed-language notes, is off)."""
    settings = load_settings()
    settings.retrieval.translate_query = "off"
    service = rag_service(settings)
    answer_context, helper_context = service.models.llm.client, service.models.helper.client
    assert answer_context is not helper_context
    history = [("什么是困惑度？", "困惑度是每个词概率倒数的几何平均 [1]。")]
    assert service.answer("它越低越好吗？", history).text.strip()

    def prompt_in(context) -> str:
        return context.detokenize(context.input_ids[: context.n_tokens].tolist()).decode()

    assert ANSWER_SYSTEM["zh"] in prompt_in(answer_context)
    assert CONDENSE_SYSTEM in prompt_in(helper_context)
    assert CONDENSE_SYSTEM not in prompt_in(answer_context)


@pytest.mark.parametrize(
    ("first", "second", "question", "key"),
    [
        (
            "困惑度是测试集上每个词概率倒数的几何平均，越低说明模型越好。",
            "LoRA 冻结原模型的全部权重，只训练插入在注意力层旁边的两个低秩矩阵。",
            "LoRA 训练的是什么？",
            "低秩矩阵",
        ),
        (
            "BPE 从单个字符开始，不断合并语料中最常见的相邻符号对。",
            "缩放点积注意力把点积除以键向量维度的平方根，防止 softmax 进入梯度很小的区域。",
            "注意力为什么要除以维度的平方根？",
            "梯度很小",
        ),
    ],
)
def test_local_model_finds_the_answer_in_a_later_passage(
    local_profile, first, second, question, key
):
    """What the first Chinese worked example teaches: the answer may sit in [2], not [1]."""
    sources = [
        Document(page_content=first, metadata={"source": "a.md"}),
        Document(page_content=second, metadata={"source": "b.md"}),
    ]
    messages = answer_prompts["zh"].invoke(
        {"context": format_context(sources), "standalone_question": question}
    )
    answer = build_chat_model(local_profile).bind(stop=STOP).invoke(messages).content
    assert key in answer
    assert cited_numbers(attribute_citations(answer, sources), 2) == [2]


@pytest.mark.parametrize(
    ("question", "refusal"),
    [("电话是谁发明的？", "资料中没有"), ("Who invented the telephone?", "do not contain")],
)
def test_local_backend_says_when_the_documents_lack_the_answer(question, refusal):
    assert refusal in rag_service(load_settings()).answer(question).text


def test_refusal_margin_lowers_only_the_next_token_of_a_started_refusal():
    margin = RefusalMargin([[5, 7, 9]], margin=2.0)
    prompt = [1, 2, 3]
    at_start = margin(np.array(prompt), np.zeros(10))
    assert at_start[5] == -2.0 and np.count_nonzero(at_start) == 1
    on_the_way = margin(np.array([*prompt, 5]), np.zeros(10))
    assert on_the_way[7] == -2.0 and np.count_nonzero(on_the_way) == 1
    elsewhere = margin(np.array([*prompt, 6]), np.zeros(10))
    assert np.count_nonzero(elsewhere) == 0


def test_refusal_margin_makes_the_model_answer_what_its_passage_holds(local_profile):
    """Sample question s08: with no margin the model says the notes lack the answer, although
    the passage it gets holds it; with the default margin it answers and cites that passage."""
    settings = load_settings()
    question = "What do static word vectors fail to capture about the word bank?"

    def ask(**changes):
        profile = local_profile.model_copy(update={"temperature": 0.0, **changes})
        settings.llm.profiles["local"] = profile
        return rag_service(settings).answer(question)

    assert is_refusal(ask(refusal_margin=0.0).text)
    answer = ask()
    assert local_profile.refusal_margin > 0 and not is_refusal(answer.text)
    assert any("one vector per word" in answer.sources[n - 1].text for n in answer.cited)


def test_an_english_question_over_a_chinese_note_is_answered_with_the_notes_words(local_profile):
    """Sample question s09 (tune split): prompted in English, the model refuses although its
    passage holds the answer; prompted in the note's language (`quote_languages`, the
    default), it answers with the note's sentence and cites it."""
    settings = load_settings()
    question = "Why divide the dot product by the square root of the key dimension?"

    def ask(quote_languages: list[str]):
        profile = local_profile.model_copy(update={"quote_languages": quote_languages})
        settings.llm.profiles["local"] = profile
        return rag_service(settings).answer(question)

    assert local_profile.quote_languages == ["zh"]
    quoted = ask(["zh"])
    assert "softmax 梯度过小" in quoted.text and quoted.cited, quoted.text
    assert all(quoted.sources[n - 1].source == "attention.md" for n in quoted.cited)
    assert is_refusal(ask([]).text)


def test_switching_profile_switches_backend(server, monkeypatch):
    monkeypatch.setenv("RAGCHAT_LLM__PROFILE", "server")
    monkeypatch.setenv("RAGCHAT_LLM__PROFILES__SERVER__BACKEND", "openai")
    monkeypatch.setenv("RAGCHAT_LLM__PROFILES__SERVER__BASE_URL", server)
    monkeypatch.setenv("RAGCHAT_LLM__PROFILES__SERVER__MODEL", "local")
    monkeypatch.setenv("RAGCHAT_LLM__PROFILES__SERVER__API_KEY", SERVER_KEY)
    settings = load_settings()
    service = rag_service(settings)
    assert isinstance(service.models.llm, ChatOpenAI) and service.queue is None  # not queued
    answer = service.answer("What does LoRA train?")
    assert answer.text.strip() and not answer.error


def test_a_question_is_translated_into_a_question_not_answered(local_profile):
    """Without worked examples the bundled model answered "GPT-3 has 4 parameters." here."""
    from chains.expansion import QueryTranslator
    from chains.quantities import stated

    translator = QueryTranslator(build_chat_model(local_profile))
    for question, target in [
        ("How many parameters does GPT-3 have?", "zh"),
        ("GPT-3 有多少个参数？", "en"),
    ]:
        (translation,) = translator.translations(question)
        assert question_language(translation) == target, translation
        assert translation.rstrip().endswith(("?", "？")), translation
        assert stated(translation) == stated(question), translation  # no number made up


def test_query_translation_finds_chinese_notes_for_an_english_question(local_profile):
    from chains.expansion import QueryTranslator
    from chains.retrieval import build_retriever
    from config import RetrievalSettings

    translator = QueryTranslator(build_chat_model(local_profile))
    question = "How does multi-head attention work?"
    translations = translator.translations(question)
    assert translations and any("\u4e00" <= ch <= "\u9fff" for ch in translations[0])
    assert translator.translations(question) is translations  # cached per question
    assert translator(question) == [(question, 1.0), (translations[0], 1.0)]  # both languages used
    zh_only = QueryTranslator(build_chat_model(local_profile), {"zh": 1.0}, 0.5)
    assert zh_only(question)[0] == (question, 0.5)  # the translation leads
    llm = build_chat_model(local_profile)
    mostly_english = QueryTranslator(llm, {"en": 0.9, "zh": 0.1}, policy="auto")
    assert mostly_english(question) == [(question, 1.0)]  # too few Chinese notes to search
    assert len(mostly_english(question, "always")) == 2  # a request may ask for it anyway
    auto_mixed = QueryTranslator(llm, {"en": 0.7, "zh": 0.3}, policy="auto")
    assert auto_mixed(question) == [(question, 1.0), (translations[0], 1.0)]  # both searched
    auto_zh = QueryTranslator(llm, {"zh": 1.0}, policy="auto")
    assert len(auto_zh(question)) == 2  # Chinese notes only: translated
    assert auto_zh(question, "off") == [(question, 1.0)]
    retriever = build_retriever(sample_knowledge_base(), RetrievalSettings(mode="bm25"), translator)
    assert retriever.invoke(question)[0].metadata["source"] == "attention.md"
    plain = build_retriever(sample_knowledge_base(), RetrievalSettings(mode="bm25"))
    assert all(d.metadata["source"] != "attention.md" for d in plain.invoke(question))


def test_query_translation_degrades_to_no_variant_when_the_model_is_down():
    from chains.expansion import QueryTranslator

    broken = build_chat_model(server_profile(f"http://127.0.0.1:{free_port()}/v1", timeout=2))
    question = "What is perplexity?"
    assert QueryTranslator(broken, {"zh": 1.0})(question) == [(question, 1.0)]


def test_in_process_model_answers_like_the_server_on_a_long_rag_prompt(server, local_profile):
    """Same weights, same greedy decoding: the same answer. (LangChain's ChatLlamaCpp overrides
    the model's RoPE base unless told not to, which garbles prompts of a few hundred tokens.)"""
    question = "什么是困惑度？"
    from chains.retrieval import build_retriever

    sources = build_retriever(sample_knowledge_base(), load_settings().retrieval).invoke(question)
    messages = answer_prompts["zh"].invoke(
        {"context": format_context(sources), "standalone_question": question}
    )
    assert len(messages.to_string()) > 600
    local = build_chat_model(local_profile.model_copy(update={"max_tokens": 48, "temperature": 0}))
    remote = build_chat_model(server_profile(server))
    mine, theirs = local.invoke(messages).content, remote.invoke(messages).content
    assert len(mine) > 20 and theirs.startswith(mine)  # the server may stop later
