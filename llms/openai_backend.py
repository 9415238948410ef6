"""`openai`: LangChain's `ChatOpenAI`, for OpenAI itself or any server speaking its API."""

from __future__ import annotations

import os

from langchain_core.language_models import BaseChatModel

from config import OpenAIProfile
from llms.errors import LLMError


def build_openai(profile: OpenAIProfile) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    key = (
        profile.api_key.get_secret_value() if profile.api_key else os.environ.get("OPENAI_API_KEY")
    )
    if not key:
        raise LLMError(
            "no OpenAI API key: set OPENAI_API_KEY, or api_key in this profile "
            "(local OpenAI-compatible servers accept any value)"
        )
    return ChatOpenAI(
        model=profile.model,
        base_url=profile.base_url,
        api_key=key,
        temperature=profile.temperature,
        max_tokens=profile.max_tokens,
        timeout=profile.timeout,
        max_retries=profile.max_retries,
        streaming=True,
    )
