"""Sliding-window chunking with Chinese-aware sentence boundaries and exact character offsets.

Written by hand because LangChain's splitters merge pieces around separators: they cannot promise
a fixed overlap between consecutive windows, and their `start_index` is found again by searching
the text, so it is ambiguous for repeated passages. Here every chunk is a slice `text[start:end]`
of the normalized document, so the app can always point back into the source.

The window is measured by a `Ruler`: characters by default, or tokens of the embedding model.
A document can name hard boundaries (`row_offsets`: where each table row starts): a window then
ends at the last one it reaches and starts at one, so no row that fits in a window is cut.
"""

import hashlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from langchain_core.documents import Document
from langchain_text_splitters import TextSplitter

from text.sentences import SENTENCE_END

_WHITESPACE = re.compile(r"\s")
# What a loader tells the chunker about a whole document, not copied into each chunk.
_DOCUMENT_KEYS = frozenset({"page_offsets", "page_labels", "ocr_pages", "row_offsets"})


def content_hash(text: str) -> str:
    """A short, stable fingerprint of a text (chunk identity and embedding reuse)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class Ruler(Protocol):
    """Measures windows in some unit (characters, tokens)."""

    def forward(self, text: str, start: int, amount: int) -> int:
        """The largest end such that text[start:end] measures at most `amount`."""
        ...

    def backward(self, text: str, end: int, amount: int) -> int:
        """The smallest start such that text[start:end] measures at most `amount`."""
        ...


class CharRuler:
    """Counts characters (Unicode code points, so a surrogate pair can never be split)."""

    def forward(self, text: str, start: int, amount: int) -> int:
        return min(len(text), start + amount)

    def backward(self, text: str, end: int, amount: int) -> int:
        return max(0, end - amount)


class TokenRuler:
    """Counts tokens of the embedding model, by binary search over character positions."""

    def __init__(self, count_tokens: Callable[[str], int]) -> None:
        self._baseline = count_tokens("")  # special tokens and prefixes the model always adds
        self._count = count_tokens

    def _measure(self, text: str) -> int:
        return self._count(text) - self._baseline

    def forward(self, text: str, start: int, amount: int) -> int:
        lo, hi = start, len(text)
        while lo < hi:  # largest end with measure <= amount
            mid = (lo + hi + 1) // 2
            if self._measure(text[start:mid]) <= amount:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def backward(self, text: str, end: int, amount: int) -> int:
        lo, hi = 0, end
        while lo < hi:  # smallest start with measure <= amount
            mid = (lo + hi) // 2
            if self._measure(text[mid:end]) <= amount:
                hi = mid
            else:
                lo = mid + 1
        return lo


class SlidingWindowSplitter(TextSplitter):
    """Windows of `size` with `overlap`. Each end moves back (at most `tolerance`) to a sentence
    end, else to a space, and each start moves back (at most `tolerance`, so the overlap grows
    by that much at most) to a sentence start: chunks read as whole sentences."""

    def __init__(
        self, size: int, overlap: int, tolerance: int, ruler: Ruler | None = None, **kwargs: Any
    ) -> None:
        super().__init__(chunk_size=size, chunk_overlap=overlap, **kwargs)
        if tolerance >= size - overlap:
            raise ValueError("tolerance must be smaller than size - overlap")
        self.size, self.overlap, self.tolerance = size, overlap, tolerance
        self.ruler = ruler or CharRuler()

    def windows(self, text: str, boundaries: Sequence[int] = ()) -> Iterator[tuple[int, int]]:
        """(start, end) of every chunk; leading and trailing whitespace trimmed off each. With
        `boundaries` (sorted offsets), a window ends at the last one it reaches, however far
        back, and the next starts at the first one inside the overlap (or at that end)."""
        position = reached = 0
        while position < len(text):
            # Every window reaches past the previous one's last visible character (`reached`):
            # a start moved back to a sentence or a row could otherwise end where it did.
            hard_end = self.ruler.forward(text, position, self.size)
            if hard_end >= len(text):
                end = len(text)
            elif (
                boundary := _last_boundary(boundaries, max(position, reached), hard_end, text)
            ) is not None:
                end = boundary
            elif (
                position < reached
                and _last_boundary(boundaries, position, hard_end, text) is not None
            ):
                position = reached  # the next row does not fit after the overlap rows
                continue
            else:
                floor = self.ruler.forward(text, position, self.size - self.tolerance)
                end = _best_cut(text, max(floor, reached), hard_end)
            start, stop = _trim(text, position, end)
            if start < stop:
                yield start, stop
            reached = _skip_space(text, end)
            if reached >= len(text):
                return
            following = self.ruler.backward(text, end, self.overlap)
            lowest = (start if start < stop else position) + 1
            row_start = _first_boundary(boundaries, max(following, lowest), end)
            if row_start is None:
                row_start = _best_start(text, following, self.tolerance, end)
            position = max(row_start, lowest)

    def split_text(self, text: str) -> list[str]:
        return [text[start:end] for start, end in self.windows(text)]

    def split_documents(self, documents: Sequence[Document]) -> list[Document]:  # type: ignore[override]
        return [chunk for document in documents for chunk in self.chunk_document(document)]

    def chunk_document(self, document: Document) -> Iterator[Document]:
        """Chunks with `start`/`end` offsets, `chunk` number, `hash`; for paged formats `page`
        (1-based), `page_label` where the page has a name (a sheet's), and `ocr: True` where
        the chunk's text was recognized from an image."""
        text, meta = document.page_content, document.metadata
        page_offsets = meta.get("page_offsets")
        labels, ocr_pages = meta.get("page_labels"), set(meta.get("ocr_pages", ()))
        inherited = {k: v for k, v in meta.items() if k not in _DOCUMENT_KEYS}
        for number, (start, end) in enumerate(self.windows(text, meta.get("row_offsets", ()))):
            chunk_text = text[start:end]
            metadata = {
                **inherited,
                "start": start,
                "end": end,
                "chunk": number,
                "hash": content_hash(chunk_text),
            }
            if page_offsets:
                page = bisect_right(page_offsets, start)  # 1-based
                metadata["page"] = page
                if labels and labels[page - 1]:
                    metadata["page_label"] = labels[page - 1]
                if ocr_pages.intersection(range(page, bisect_right(page_offsets, end - 1) + 1)):
                    metadata["ocr"] = True
            yield Document(page_content=chunk_text, metadata=metadata)


def _best_cut(text: str, floor: int, hard_end: int) -> int:
    """The last sentence end in (floor, hard_end], else the last space, else hard_end."""
    best = None
    for match in SENTENCE_END.finditer(text, floor, hard_end):
        best = match.end()
    if best is not None and best > floor:
        return best
    for position in range(hard_end, floor, -1):
        if _WHITESPACE.match(text, position):
            return position
    return hard_end


def _last_boundary(boundaries: Sequence[int], after: int, upto: int, text: str) -> int | None:
    """The last boundary in (after, upto], if any; or just past `upto` if only whitespace (the
    line break before the next row) lies between them, which trimming takes off the window."""
    index = bisect_right(boundaries, _skip_space(text, upto)) - 1
    return boundaries[index] if index >= 0 and boundaries[index] > after else None


def _first_boundary(boundaries: Sequence[int], lowest: int, upto: int) -> int | None:
    """The first boundary in [lowest, upto], if any."""
    index = bisect_left(boundaries, lowest)
    return boundaries[index] if index < len(boundaries) and boundaries[index] <= upto else None


def _best_start(text: str, start: int, tolerance: int, limit: int) -> int:
    """Move a window start back (at most `tolerance`) to just after a sentence end, so a
    chunk begins where a sentence does; else forward out of a Latin word it falls inside."""
    begin = max(0, start - tolerance)
    sentence_starts = [m.end() for m in SENTENCE_END.finditer(text, begin, start)]
    if sentence_starts:
        return sentence_starts[-1]
    return _skip_word_tail(text, start, min(limit, start + tolerance))


def _skip_word_tail(text: str, position: int, limit: int) -> int:
    """Move a window start that falls inside a Latin word to the word's end (within limit)."""
    while (
        0 < position < limit
        and text[position - 1].isascii()
        and text[position - 1].isalnum()
        and text[position].isascii()
        and text[position].isalnum()
    ):
        position += 1
    return position


def _skip_space(text: str, position: int) -> int:
    """The first position at or after `position` that is not whitespace (or the text's end)."""
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
