"""`openai`: LangChain's `ChatOpenAI`, for OpenAI itself or any server speaking its API."""

from __future__ import annotations

import os

from langchain_core.language_models import BaseChatModel

from config import OpenAIProfile
from i18n import N_, _
from llms.backend import Backend
from llms.errors import LLMError


def _api_key(profile: OpenAIProfile) -> str | None:
    return (
        profile.api_key.get_secret_value() if profile.api_key else os.environ.get("OPENAI_API_KEY")
    )


def build_openai(profile: OpenAIProfile) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    key = _api_key(profile)
    if not key:
        raise LLMError(
            N_(
                "no OpenAI API key: set OPENAI_API_KEY, or api_key in this profile "
                "(local OpenAI-compatible servers accept any value)"
            )
        )
    llm = ChatOpenAI(
        model=profile.model,
        base_url=profile.base_url,
        api_key=key,
        temperature=profile.temperature,
        max_tokens=profile.max_tokens,
        timeout=profile.timeout,
        max_retries=profile.max_retries,
        streaming=True,
    )
    check_model_served(llm, profile)
    return llm


MODEL_CHECK_SECONDS = 5.0


def check_model_served(llm: BaseChatModel, profile: OpenAIProfile) -> None:
    """Refuse a model name the server does not list. OpenAI answers a wrong name with a 404, but
    local servers (llama.cpp, some Ollama set-ups) silently answer with whatever model they
    have loaded. A server that cannot be asked is left for the first question to report."""
    import openai

    client = llm.root_client.with_options(
        max_retries=0, timeout=min(MODEL_CHECK_SECONDS, profile.timeout)
    )
    try:
        served = [model.id for model in client.models.list()]
    except openai.OpenAIError:
        return
    if served and profile.model not in served:
        raise LLMError(
            N_(
                "model {model!r} not found on the server; it serves: {served} "
                "(set `model` in the profile)"
            ),
            model=profile.model,
            served=", ".join(served),
        )


def describe(profile: OpenAIProfile) -> str:
    key = _("API key set") if _api_key(profile) else _("API key missing: set OPENAI_API_KEY")
    where = profile.base_url or "api.openai.com"
    return _("{model} at {where}").format(model=profile.model, where=where) + f" · {key}"


def explain(error: Exception) -> LLMError | None:
    """The OpenAI client's exceptions, said in one line with what to do."""
    import openai

    if isinstance(error, openai.AuthenticationError):
        return LLMError(N_("the server rejected the API key (401): check OPENAI_API_KEY"))
    if isinstance(error, openai.APITimeoutError):
        return LLMError(N_("no answer in time: the server is slow or stuck; raise `timeout`"))
    if isinstance(error, openai.APIConnectionError):
        return LLMError(N_("cannot reach the server: is it running, and is base_url right?"))
    if isinstance(error, openai.NotFoundError):
        return LLMError(
            N_(
                "the server answered 404: check the model name it serves, "
                "and that base_url ends in /v1"
            )
        )
    if isinstance(error, openai.RateLimitError):
        return LLMError(N_("rate limited or out of quota: wait, or check your plan"))
    if isinstance(error, openai.APIError):
        return LLMError(
            N_("the server returned an error: {error}"), error=getattr(error, "message", error)
        )
    return None


BACKEND = Backend(build=build_openai, describe=describe, explain=explain)
"""A remote server queues its own requests: ragchat sends them as they come."""
