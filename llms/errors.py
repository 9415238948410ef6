"""What goes wrong with a chat model, said in one line with a hint (never a stack trace)."""

from __future__ import annotations

from errors import RagchatError


class LLMError(RagchatError):
    """A chat model that cannot be built or cannot answer; the message says what to do."""

    code = "model_unavailable"
    http_status = 503
