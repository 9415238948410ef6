"""What goes wrong with a chat model, said in one line with a hint (never a stack trace)."""

from __future__ import annotations


class LLMError(Exception):
    """A chat model that cannot be built or cannot answer; the message says what to do."""


def explain(error: Exception) -> LLMError:
    """Turn a client library's exception into an LLMError."""
    import openai

    if isinstance(error, LLMError):
        return error
    if isinstance(error, openai.AuthenticationError):
        return LLMError("the server rejected the API key (401): check OPENAI_API_KEY")
    if isinstance(error, openai.APITimeoutError):
        return LLMError("no answer in time: the server is slow or stuck; raise `timeout`")
    if isinstance(error, openai.APIConnectionError):
        return LLMError("cannot reach the server: is it running, and is base_url right?")
    if isinstance(error, openai.NotFoundError):
        return LLMError(
            "the server answered 404: check the model name it serves, and that base_url ends in /v1"
        )
    if isinstance(error, openai.RateLimitError):
        return LLMError("rate limited or out of quota: wait, or check your plan")
    text = str(error)
    if "context" in text.lower() and ("exceed" in text.lower() or "length" in text.lower()):
        return LLMError(
            "the prompt is longer than the model's context window: "
            "lower retrieval.k, or raise n_ctx"
        )
    if isinstance(error, openai.APIError):
        return LLMError(f"the server returned an error: {getattr(error, 'message', text)}")
    return LLMError(f"the model failed: {type(error).__name__}: {text}")
