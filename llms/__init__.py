"""Chat model backends, chosen by the active profile's `backend` from a small registry.

Each backend module supplies one `Backend` (`llms.backend`): how to build its LangChain chat
model from the typed profile, how to describe it, whether it must be queued, its per-answer call
options, its token counting and its error explanations. Heavy libraries are imported inside the
builders, so a backend you do not use need not be installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from i18n import N_
from llms import llamacpp_backend, openai_backend, transformers_backend
from llms.backend import Backend, CallOptions, Profile, estimate_tokens
from llms.errors import LLMError

__all__ = [
    "LLM_BACKENDS",
    "ChatModels",
    "LLMError",
    "backend_of",
    "build_chat_model",
    "build_chat_models",
    "estimate_tokens",
    "explain",
]

LLM_BACKENDS: dict[str, Backend] = {
    "llamacpp": llamacpp_backend.BACKEND,
    "openai": openai_backend.BACKEND,
    "transformers": transformers_backend.BACKEND,
}


def backend_of(profile: Profile) -> Backend:
    backend = LLM_BACKENDS.get(profile.backend)
    if backend is None:
        raise LLMError(
            N_("unknown llm backend {backend!r}; available: {names}"),
            backend=profile.backend,
            names=", ".join(sorted(LLM_BACKENDS)),
        )
    return backend


def build_chat_model(profile: Profile) -> BaseChatModel:
    """The chat model a profile describes, or an LLMError a user can act on."""
    return backend_of(profile).build(profile)


@dataclass
class ChatModels:
    """What answering with one profile needs from its backend, built once."""

    llm: BaseChatModel
    """Writes the answers."""
    helper: BaseChatModel
    """Rewrites follow-up questions and translates questions (may be `llm` itself)."""
    exclusive: bool
    """One call at a time (an in-process model): answers wait their turn."""
    count_tokens: Callable[[str], int]
    call_options: CallOptions
    """Fresh keyword arguments for each answer's model call, given its temperature."""


def build_chat_models(profile: Profile, refusals: list[str]) -> ChatModels:
    """The answer model and its helper for a profile, given the texts the prompt teaches the
    model to refuse with (for backends that steer refusals)."""
    backend = backend_of(profile)
    llm = backend.build(profile)
    helper = backend.build(profile) if backend.separate_helper else llm
    return ChatModels(
        llm=llm,
        helper=helper,
        exclusive=backend.exclusive,
        count_tokens=backend.token_counter(llm),
        call_options=backend.call_options(llm, profile, refusals),
    )


def explain(error: Exception) -> LLMError:
    """Any model failure as an LLMError: the backend that knows the exception names it."""
    if isinstance(error, LLMError):
        return error
    for backend in LLM_BACKENDS.values():
        explained = backend.explain(error)
        if explained is not None:
            return explained
    return LLMError(N_("the model failed: {kind}: {error}"), kind=type(error).__name__, error=error)
