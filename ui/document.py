"""A citation shown in its document: the text ingest read (`loaders.load_document`), with the
cited passage marked and the sentence that supports the answer highlighted.

A source card's `start`/`end` are offsets into the document's normalized text, so reading the
file again the same way finds the passage, unless the file changed since it was indexed: then
the passage is looked for elsewhere in it, or the card's own text is shown, and the view says
so. The view is an HTML fragment in which every character from the document is escaped: no
markup, script or Markdown of a document is ever rendered. No Streamlit here: the chat page and
stored conversations (`ui.viewer`) both open documents through `open_document`.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from langchain_core.documents import Document

from chains.citations import claims_citing, sentence_shares, sentence_spans
from i18n import _, explain, format_count, ngettext
from index.bm25 import tokenize
from index.updater import source_path
from loaders import LoaderError, load_document
from services.conversations import GONE

State = Literal["current", "moved", "changed", "gone", "unreadable"]
Span = tuple[int, int]
ANCHOR = "ragchat-cited"
"""The id of the marked passage in the fragment: a link to `#ragchat-cited` scrolls to it."""

_DOCUMENT_STYLE = (
    "white-space: pre-wrap; overflow-wrap: anywhere; line-height: 1.7; max-height: 60vh; "
    "overflow-y: auto; padding: 0.75rem; border: 1px solid rgba(128, 128, 128, 0.3); "
    "border-radius: 0.5rem"
)
_PASSAGE_STYLE = "background: rgba(66, 133, 244, 0.12); border-radius: 0.25rem"
_SENTENCE_STYLE = "background: rgba(255, 200, 0, 0.55); padding: 0 0.1rem"
_OMITTED_STYLE = "color: gray; font-size: 0.85em"
_GOES_ON = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9,:(、，：（-]")
_WRAPPED_WIDTH = 0.6
"""A line at least this share of the longest one may have been wrapped; a shorter one ended."""
_CONTINUES = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffa-z0-9(（]")


@dataclass(frozen=True)
class DocumentView:
    """One source card opened in its document."""

    source: str
    path: Path
    state: State
    """current: the passage is where the card says; moved: the file changed but still holds
    the passage elsewhere; changed, gone, unreadable: `text` is the card's own passage."""
    note: str
    """What the reader should know about the passage's place ("" when current)."""
    text: str
    passage: Span
    """Where the cited passage lies in `text`."""
    sentence: Span
    """Where the supporting sentence lies in `text` (inside `passage`)."""
    page_offsets: tuple[int, ...] = ()
    """Where each page starts in `text`, for paged formats read from the file."""

    @property
    def from_file(self) -> bool:
        """The text is the document's current text, not the card's copy."""
        return self.state in ("current", "moved")

    @property
    def page(self) -> int | None:
        """The 1-based page of the supporting sentence (paged formats)."""
        return bisect_right(self.page_offsets, self.sentence[0]) if self.page_offsets else None

    def on_page(self, span: Span, number: int) -> str:
        """The part of `text[span]` that lies on page `number`."""
        first = self.page_offsets[number - 1]
        last = self.page_offsets[number] if number < len(self.page_offsets) else len(self.text)
        return self.text[max(span[0], first) : min(span[1], last)].strip()

    def html(self, before: int = 300, after: int = 2400) -> str:
        """The escaped document around the passage (`before`/`after` characters of context,
        widened to whole lines), the passage marked, the sentence in `<mark>`."""
        text, (start, end), (first, last) = self.text, self.passage, self.sentence
        window_start = _line_start(text, max(0, start - before), start)
        window_end = _line_end(text, min(len(text), end + after), end)
        return "".join(
            [
                f'<div class="ragchat-document" style="{_DOCUMENT_STYLE}">',
                _omitted(window_start, "before"),
                _escape(text[window_start:start]),
                f'<span id="{ANCHOR}" class="ragchat-passage" style="{_PASSAGE_STYLE}">',
                _escape(text[start:first]),
                f'<mark class="ragchat-sentence" style="{_SENTENCE_STYLE}">',
                _escape(text[first:last]),
                "</mark>",
                _escape(text[last:end]),
                "</span>",
                _escape(text[end:window_end]),
                _omitted(len(text) - window_end, "after"),
                "</div>",
            ]
        )


def open_document(
    documents_root: Path,
    card: dict,
    answer: str = "",
    question: str = "",
    load: Callable[[Path, str], Document] = load_document,
) -> DocumentView:
    """Card `card` (`dataclasses.asdict` of a `SourceCard`) of an answer opened in its
    document, read with `load` (ingest's loader by default; the app passes the isolated one).
    The sentence is the passage's sentence that best supports what `answer` cites it for,
    else the one closest to `question`, else the whole passage."""
    source, stored = card["source"], card["text"]
    path = source_path(source, documents_root)
    if card.get("note") == GONE:  # a stored answer whose knowledge base no longer holds it:
        # a file of that name here may be another knowledge base's
        note = f"{source}: {_(GONE)}."
        return _stored(card, path, "gone", note, answer, question)
    if not path.is_file():
        note = _("{source} is gone: there is no file at {path}.").format(source=source, path=path)
        return _stored(card, path, "gone", note, answer, question)
    try:
        document = load(path, source)
    except LoaderError as err:
        note = _("{source} cannot be read any more ({error}).").format(
            source=source, error=explain(err)
        )
        return _stored(card, path, "unreadable", note, answer, question)
    text, start, end = document.page_content, card["start"], card["end"]
    state: State = "current"
    note = ""
    # `startswith`: the card holds the passage cut short when it alone overflowed the prompt
    if not stored or not text[start:end].startswith(stored):
        found = text.find(stored)
        if found < 0:
            note = _(
                "{source} has changed since it was indexed: the cited passage is no longer in it."
            ).format(source=source)
            return _stored(card, path, "changed", note, answer, question)
        state, start, end = "moved", found, found + len(stored)
        note = _(
            "{source} has changed since it was indexed; the cited passage is now elsewhere in it."
        ).format(source=source)
    return DocumentView(
        source=source,
        path=path,
        state=state,
        note=note,
        text=text,
        passage=(start, end),
        sentence=_shift(supporting_span(text[start:end], answer, card["n"], question), start),
        page_offsets=tuple(document.metadata.get("page_offsets", ())),
    )


def supporting_span(passage: str, answer: str, number: int, question: str) -> Span:
    """Where in `passage` (card `number`) the sentence lies that holds most of a claim the
    answer cites it for; else the one holding most of the question's search terms; else the
    whole of it."""
    spans = sentences(passage)
    texts = [passage[start:end] for start, end in spans]
    claims = claims_citing(answer, number)
    scored = [
        (share, n) for claim in claims for n, share in enumerate(sentence_shares(claim, texts))
    ]
    terms = {term for term in tokenize(question) if len(term) > 1}
    for score, best in (_first_best(scored), _first_best(_term_counts(terms, texts))):
        if score > 0:
            return spans[best]
    return 0, len(passage)


def _term_counts(terms: set[str], texts: list[str]) -> list[tuple[float, int]]:
    """(how many of the search terms it holds, index) of each text."""
    return [(len(terms.intersection(tokenize(text))), n) for n, text in enumerate(texts)]


def _first_best(scored: list[tuple[float, int]]) -> tuple[float, int]:
    """The (score, index) with the highest score, the earliest sentence among equals."""
    return max(scored, key=lambda item: (item[0], -item[1]), default=(0.0, 0))


def sentences(text: str) -> list[Span]:
    """The sentences of `text` as attribution cuts them (`chains.citations`), with a line
    wrapped inside a sentence (a PDF's, a hard-wrapped note's) joined again."""
    width = max(map(len, text.split("\n")), default=0)
    spans: list[Span] = []
    for start, end in sentence_spans(text):
        if spans and _wrapped(text, spans[-1][1], start, width):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def _wrapped(text: str, end: int, start: int, width: int) -> bool:
    """A single line break between `end` and `start` that goes on with the same sentence: the
    line stops mid-sentence and nearly reaches the text's width (a heading does neither), and
    the next goes on in Chinese or in lower case."""
    line = text[text.rfind("\n", 0, end) + 1 : end]
    return (
        text[end:start] == "\n"
        and len(line) >= _WRAPPED_WIDTH * width
        and _GOES_ON.match(text[end - 1]) is not None
        and _CONTINUES.match(text[start]) is not None
        and not line.startswith("#")
    )


def _stored(
    card: dict, path: Path, state: State, note: str, answer: str, question: str
) -> DocumentView:
    """The view of the card's own copy of the passage, when the file no longer has it."""
    text = card["text"]
    return DocumentView(
        source=card["source"],
        path=path,
        state=state,
        note=note + " " + _("This is the passage as it was cited."),
        text=text,
        passage=(0, len(text)),
        sentence=supporting_span(text, answer, card["n"], question),
    )


def _shift(span: Span, by: int) -> Span:
    return span[0] + by, span[1] + by


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _line_start(text: str, position: int, limit: int) -> int:
    """`position` moved forward to the start of a line, but not past `limit`."""
    if position == 0:
        return 0
    newline = text.find("\n", position, limit)
    return newline + 1 if newline >= 0 else position


def _line_end(text: str, position: int, limit: int) -> int:
    """`position` moved back to the end of a line, but not before `limit`."""
    if position == len(text):
        return position
    newline = text.rfind("\n", limit, position)
    return newline if newline >= 0 else position


def _omitted(count: int, where: str) -> str:
    """A line saying how much of the document the window leaves out."""
    if count <= 0:
        return ""
    omitted = (
        ngettext("{count} character before", "{count} characters before", count)
        if where == "before"
        else ngettext("{count} character after", "{count} characters after", count)
    ).format(count=format_count(count))
    line = f'<span style="{_OMITTED_STYLE}">[… {html.escape(omitted)} …]</span>'
    return f"{line}\n" if where == "before" else f"\n{line}"
