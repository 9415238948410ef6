"""The OpenAI chat-completion shapes ragchat reads and writes. Unknown request fields (top_p,
n, stop, ...) are accepted and ignored, as OpenAI-compatible servers do; ragchat's own
per-request options (`kb`, `k`, `mode`, `translate`, `sources`, `filter`) travel as extra
fields, which the `openai` client sends with `extra_body`."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chains.retrieval import Mode
from config import TranslateQuery
from index.filters import ChunkFilter, filter_from_mapping
from services.answering import Answer, AnswerOptions
from services.knowledge_bases import DEFAULT_KB


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str
    text: str = ""


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    """A ragchat profile name (`GET /v1/models` lists them)."""
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    k: int | None = Field(None, gt=0, le=50)
    mode: Mode | None = None
    translate: TranslateQuery | None = None
    sources: list[str] | None = None
    """Only search these files (names as `GET /v1/files` lists them)."""
    filter: dict[str, str | list[str]] | None = None
    """Only search the chunks that match, e.g. `{"folder": ["notes"], "lang": "zh", "after":
    "2026-01-01"}`: the keys of `index.filters.parse_filters`."""
    kb: str = DEFAULT_KB
    """The knowledge base to answer from (`GET /v1/knowledge_bases` lists them)."""

    def options(self) -> AnswerOptions:
        return AnswerOptions(
            k=self.k,
            mode=self.mode,
            temperature=self.temperature,
            translate=self.translate,
            filter=self.chunk_filter(),
        )

    @field_validator("filter")
    @classmethod
    def _readable_filter(cls, value: dict | None) -> dict | None:
        """A filter that cannot be read is a 400 that says why."""
        filter_from_mapping(value or {})
        return value

    def chunk_filter(self) -> ChunkFilter:
        """`filter` and `sources` as one filter."""
        chosen = filter_from_mapping(self.filter or {})
        return replace(chosen, sources=chosen.sources | frozenset(self.sources or ()))

    def conversation(self) -> tuple[str, list[tuple[str, str]]]:
        """The last user message is the question; earlier user/assistant pairs the history
        (system messages are not used: ragchat's own prompt decides how to answer)."""
        turns = [m for m in self.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1].role != "user" or not turns[-1].text.strip():
            raise ValueError("the last message must be a user message with text")
        history, question = [], None
        for message in turns[:-1]:
            if message.role == "user":
                question = message.text
            elif question is not None:
                history.append((question, message.text))
                question = None
        return turns[-1].text, history


def sources_field(answer: Answer) -> list[dict]:
    """The `sources` field: every numbered passage shown to the model, `[n]` -> n."""
    return [
        {
            "n": c.n,
            "source": c.source,
            "page": c.page,
            "start": c.start,
            "end": c.end,
            "score": c.score,
            "text": c.text,
            "cited": c.n in answer.cited,
            "ocr": c.ocr,
            "instructions": list(c.instructions),
        }
        for c in answer.sources
    ]


class Completion:
    """The ids and stamps shared by one completion's response or chunks."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def _head(self, kind: str) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def response(self, answer: Answer) -> dict:
        message = {"role": "assistant", "content": answer.text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return {**self._head("chat.completion"), "choices": [choice], **_extras(answer)}

    def chunk(self, content: str | None = None, role: bool = False) -> dict:
        delta = {"role": "assistant", "content": ""} if role else {"content": content}
        choice = {"index": 0, "delta": delta, "finish_reason": None}
        return {**self._head("chat.completion.chunk"), "choices": [choice]}

    def last_chunk(self, answer: Answer) -> dict:
        choice = {"index": 0, "delta": {}, "finish_reason": "stop"}
        return {**self._head("chat.completion.chunk"), "choices": [choice], **_extras(answer)}


def _extras(answer: Answer) -> dict:
    """ragchat's additions: the passages, the answer with checked citations (a streamed
    answer's pieces are the model's raw text), its sentences no passage supports, the kind of
    question it was taken for and how many passages found did not fit (`left_out`)."""
    return {
        "sources": sources_field(answer),
        "answer": answer.text,
        "cited": answer.cited,
        "unsupported": answer.unsupported,
        "why_unsupported": answer.english_reasons(),
        "kind": answer.kind,
        "left_out": answer.left_out,
        "timings": {name: round(value, 3) for name, value in answer.timings.items()},
    }
