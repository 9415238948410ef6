"""What ragchat asks of a kind of chat model: one `Backend` value per backend module, so that no
code outside `llms/` needs to know which backend a profile uses."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from config import LlamaCppProfile, OpenAIProfile, TransformersProfile
from llms.errors import LLMError

Profile = LlamaCppProfile | OpenAIProfile | TransformersProfile
CallOptions = Callable[[float | None], dict[str, Any]]
"""Per answer: the temperature asked for (None: the profile's) -> keyword arguments of the
model call."""


def no_call_options(_llm: BaseChatModel, _profile: Any, _refusals: Sequence[str]) -> CallOptions:
    return lambda temperature: {} if temperature is None else {"temperature": temperature}


def estimate_tokens(text: str) -> int:
    """About one token per CJK character and per four other characters (no tokenizer needed)."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    return cjk + (len(text) - cjk + 3) // 4


def estimated_counter(_llm: BaseChatModel) -> Callable[[str], int]:
    return estimate_tokens


@dataclass(frozen=True)
class Backend:
    build: Callable[[Any], BaseChatModel]
    """Profile -> LangChain chat model, or an LLMError a user can act on."""
    describe: Callable[[Any], str]
    """Profile -> one line for the UI: which model, where, and what is missing."""
    exclusive: bool = False
    """An in-process model that must take one call at a time (answers are queued)."""
    separate_helper: bool = False
    """Side tasks (rewriting a follow-up, translating) get a model instance of their own."""
    call_options: Callable[[BaseChatModel, Any, Sequence[str]], CallOptions] = no_call_options
    """(model, profile, refusal texts) -> the maker of each answer's call options."""
    token_counter: Callable[[BaseChatModel], Callable[[str], int]] = estimated_counter
    """Model -> counts tokens of a text (exactly where the model has a tokenizer)."""
    explain: Callable[[Exception], LLMError | None] = lambda _error: None
    """A client library's exception -> a one-line LLMError, or None if not this backend's."""
