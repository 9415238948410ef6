"""Chat model backends, chosen by the active profile's `backend` from a small registry.

Each factory turns its typed profile into a LangChain chat model; heavy libraries are imported
inside the factory, so a backend you do not use need not be installed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel

from config import LlamaCppProfile, OpenAIProfile, TransformersProfile
from llms.errors import LLMError
from llms.llamacpp_backend import build_llamacpp, refusal_margin_options
from llms.openai_backend import build_openai
from llms.transformers_backend import build_transformers

__all__ = [
    "LLM_BACKENDS",
    "LLMError",
    "answer_call_options",
    "build_chat_model",
    "build_helper_model",
    "estimate_tokens",
    "token_counter",
]

LLM_BACKENDS: dict[str, Callable] = {
    "llamacpp": build_llamacpp,
    "openai": build_openai,
    "transformers": build_transformers,
}


def build_chat_model(
    profile: LlamaCppProfile | OpenAIProfile | TransformersProfile,
) -> BaseChatModel:
    """The chat model a profile describes, or an LLMError a user can act on."""
    factory = LLM_BACKENDS.get(profile.backend)
    if factory is None:
        raise LLMError(
            f"unknown llm backend {profile.backend!r}; available: {', '.join(sorted(LLM_BACKENDS))}"
        )
    return factory(profile)


SEPARATE_HELPER_BACKENDS = frozenset({"llamacpp"})
"""Backends whose side tasks get a model instance of their own (see `build_helper_model`)."""


def build_helper_model(
    profile: LlamaCppProfile | OpenAIProfile | TransformersProfile, main: BaseChatModel
) -> BaseChatModel:
    """The chat model for the short side tasks: rewriting a follow-up question, translating a
    question for retrieval. llama.cpp keeps the KV cache of one prompt, so a side task between
    two answers made the next answer re-read the fixed prompt prefix (~0.6 s on 2 cores): a
    second llama.cpp context over the same memory-mapped weights keeps both prefixes cached
    (translated questions: TTFT p50 2.79 -> 1.73 s, README). Other backends have no
    such cache (openai) or would load the weights twice (transformers): they reuse `main`."""
    if profile.backend not in SEPARATE_HELPER_BACKENDS:
        return main
    return build_chat_model(profile)


ANSWER_OPTION_BACKENDS: dict[str, Callable] = {"llamacpp": refusal_margin_options}
"""Backends whose answers take per-call options (llama.cpp: the refusal margin, which needs the
model's next-token scores; the OpenAI API has no such hook)."""


def answer_call_options(
    profile: LlamaCppProfile | OpenAIProfile | TransformersProfile,
    llm: BaseChatModel,
    refusals: Sequence[str],
) -> Callable[[], dict[str, Any]]:
    """A maker of fresh keyword arguments for each answer's model call, given the texts the
    prompt teaches the model to refuse with (no options for most backends)."""
    make = ANSWER_OPTION_BACKENDS.get(profile.backend)
    return make(llm, profile, refusals) if make else dict


def token_counter(llm: BaseChatModel) -> Callable[[str], int]:
    """Exact token counts for llama.cpp models; otherwise an estimate that needs no download
    (about one token per CJK character and per four other characters)."""
    client = getattr(llm, "client", None)
    if client is not None and hasattr(client, "tokenize"):
        return lambda text: len(client.tokenize(text.encode("utf-8"), add_bos=False))
    return estimate_tokens


def estimate_tokens(text: str) -> int:
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    return cjk + (len(text) - cjk + 3) // 4
