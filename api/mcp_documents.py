"""A document as its knowledge base indexed it, for MCP's `read_document` and `ragchat://`
resources: its chunks put back together at their `start`/`end` offsets.

The chunker's windows overlap and reach every visible character of the text ingest read
(`loaders.chunking`), so the chunks give that text back, offsets included: a passage's `start`
and `end` (from `search` or `ask`) point into it. Only the whitespace between two windows that do
not overlap is not kept; a line break stands for it. Reading the index, not the file, means a
client sees exactly what answers are drawn from, the file may since have changed or gone, and
no loader runs on a request.
"""

from __future__ import annotations

from dataclasses import dataclass

from api.errors import ApiError
from index.filters import ChunkFilter
from index.knowledge_base import KnowledgeBase

READ_LIMIT = 20_000
"""The most characters one `read_document` call returns: a model reads on from `end`."""


@dataclass(frozen=True)
class TextWindow:
    """`text[start:end]` of a document whose indexed text is `length` characters long."""

    source: str
    start: int
    end: int
    length: int
    text: str


def indexed_text(knowledge_base: KnowledgeBase, source: str) -> str:
    """The text of `source` as the index holds it (see module); ApiError 404 if it holds none."""
    ids = knowledge_base.matching(ChunkFilter(sources=frozenset({source})))
    chunks = sorted(
        (d.metadata["start"], d.metadata["end"], d.page_content)
        for d in knowledge_base.documents_by_id(ids).values()
    )
    if not chunks:
        raise ApiError(
            404,
            "document_not_found",
            f"{source!r} is not in this knowledge base's index: `list_documents` names the "
            "documents it holds",
            "source",
        )
    pieces: list[str] = []
    reached = 0
    for start, end, text in chunks:
        if start > reached:
            pieces.append("\n" * (start - reached))  # whitespace the chunker trimmed
        if end > reached:
            pieces.append(text[max(0, reached - start) :])
            reached = end
    return "".join(pieces)


def window(text: str, source: str, start: int | None, end: int | None, context: int) -> TextWindow:
    """A passage `[start, end)` with `context` characters either side, or (without `end`) the
    text from `start` (default 0); at most READ_LIMIT characters either way."""
    begin = start or 0
    if begin > len(text) or (end is not None and end < begin):
        raise ApiError(
            400,
            "invalid_request",
            f"{source} has {len(text)} characters of indexed text: start {begin} is past its end "
            f"or after end; take start and end from a passage of `search` or `ask`",
            "start",
        )
    if end is None:
        first, last = begin, begin + READ_LIMIT
    else:
        first, last = max(0, begin - context), end + context
    last = min(len(text), last, first + READ_LIMIT)
    return TextWindow(source, first, last, len(text), text[first:last])
