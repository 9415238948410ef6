"""A document's outline: its headings and its key sentences, each with its offsets in the
document (the `start`/`end` every chunk has), so that any line can be cited and opened in the
viewer like a passage.

Key sentences are chosen extractively, by the sentence vectors the index already keeps for
every window (nothing is embedded again): the sentences closest to the document's centroid,
picked by maximal marginal relevance so that they cover different parts of it, then put back
in document order. Headings are the short lines that end without punctuation, in order, once
each (slides repeat their title on every page), standing on a line of their own after a blank
line or a short line (a section's name), never a wrapped line of a paragraph, a formula's
letters or a code comment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from langchain_core.documents import Document

from chains.claims import content_units

SentenceUnits = Callable[[Document], tuple[list[str], np.ndarray]]
"""(chunk) -> its sentence units and their unit vectors, one row each (`chains.rerank`)."""

_HEADING_MARK = re.compile(r"^\s*(#{1,6}\s+|[0-9]+(\.[0-9]+)*[.、]?\s*|●\s*)")
_BULLET = re.compile(r"^\s*[▶•➤✓\-*]")
_ITEM = re.compile(r"^\s*(?:[▶•➤✓]\s*|[-*]\s+)")
"""A list item's mark (an option's dash, `-q, --quiet`, is none)."""
_SHORT_ITEM = 16
"""Characters of a list item standing alone that names a section (`• 文本分词`, `- Ch 3: 编码注意力
机制`); a longer item is a point made."""
_NOT_PROSE = re.compile(r"https?:|[$=<>{}\\]")
"""Links, formulas and code: not what a key sentence or a heading is made of."""
_TITLE_OR_COMMENT = re.compile(r"^\s*#")
"""A Markdown title (a heading) or a code comment: never a key sentence."""
_SENTENCE_LIKE = re.compile(r"[。！？；，,;:：!?]$|\.$")
_MOSTLY_SYMBOLS = re.compile(r"^[\W\d_]*$")
_CODE = re.compile(r"\w_\w|^#\s.*[(=]")
"""A snake_case name or a commented-out call: a code comment, not a Markdown title."""
_CLAUSES = re.compile(r".{12}[,，]")
"""A comma after a dozen characters: the middle of a sentence, not a title (`BERT, ERNIE`)."""
_LOWER_WORD = re.compile(r"^[a-z]+$")
_SHORT_LINE = 20
"""Characters of the line before a heading at most (a section's name: `名称`, `NAME`); after a
longer one, a short line ends a wrapped paragraph."""


@dataclass(frozen=True)
class OutlineLine:
    """One line of an outline: a heading or a key sentence, where it is in its document."""

    source: str
    start: int
    end: int
    text: str
    heading: bool
    score: float = 0.0
    """The line's closeness to the centroid of the document's sentences: how much of what the
    document says it names (an overview shows the closest first)."""
    page: int | None = None

    def as_passage(self) -> Document:
        """The line as a passage the model can be shown and the answer can cite."""
        metadata = {"source": self.source, "start": self.start, "end": self.end}
        if self.page:
            metadata["page"] = self.page
        return Document(
            id=f"outline:{self.source}:{self.start}", page_content=self.text, metadata=metadata
        )


@dataclass(frozen=True)
class OutlineShape:
    """How much of a document an outline keeps."""

    key_sentences: int = 6
    """Key sentences of a document of `per_chars` characters or less; one more per
    `per_chars` beyond, up to `most_key_sentences`."""
    per_chars: int = 3000
    most_key_sentences: int = 10
    headings: int = 40
    """Most headings: a note's sections name its main points (12 kept the first pages')."""
    diversity: float = 0.3
    """Maximal marginal relevance: how much a candidate's likeness to the sentences already
    picked counts against it (0: the closest to the centroid, however alike)."""
    windows: int = 300
    """Most windows of one document read for its outline: a longer document's outline is drawn
    from this many spread evenly through it, so that memory and time stay bounded at any
    size."""
    shortest: int = 16
    longest: int = 240
    """Characters of a key sentence: shorter ones are labels, longer ones runs of code or
    tables."""
    version: int = 5
    """How lines are chosen: a stored outline of another version or shape is made again."""


DEFAULT_SHAPE = OutlineShape()


@dataclass(frozen=True)
class Outline:
    """A document's outline lines, and its headings' sentence vectors (unit rows, in the
    headings' order): what a question describing the document is matched against."""

    lines: list[OutlineLine]
    heading_vectors: np.ndarray


def outline(
    chunks: Sequence[Document], units: SentenceUnits, shape: OutlineShape = DEFAULT_SHAPE
) -> Outline:
    """The headings and key sentences of one document's chunks, in document order."""
    lines = _located_units(chunks, units)
    if not lines:
        return Outline([], np.zeros((0, 0), dtype=np.float32))
    source = chunks[0].metadata["source"]
    headings = _headings(source, lines, shape.headings)
    titled = {(line.start, line.end) for line in headings}
    candidates = list(
        {
            line.text: (line, vector)
            for line, vector, _alone in reversed(lines.values())  # the first of equal ones wins
            if (line.start, line.end) not in titled
            and shape.shortest <= len(line.text) <= shape.longest
            and len(content_units(line.text)) >= 4
            and not _NOT_PROSE.search(line.text)
            and not _TITLE_OR_COMMENT.match(line.text)
        }.values()
    )
    length = max(c.metadata["end"] for c in chunks)
    wanted = min(
        shape.most_key_sentences,
        shape.key_sentences + max(0, length - 1) // shape.per_chars,
    )
    keys = _key_sentences(candidates, wanted, shape.diversity)
    vectors = [lines[line.start, line.end][1] for line in headings]
    every = np.asarray([vector for _line, vector, _alone in lines.values()], dtype=np.float32)
    centroid = every.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    headings = [
        replace(line, score=round(float(vector @ centroid), 4))
        for line, vector in zip(headings, vectors, strict=True)
    ]
    return Outline(
        sorted(headings + keys, key=lambda line: (line.start, not line.heading)),
        np.asarray(vectors, dtype=np.float32).reshape(len(vectors), every.shape[1]),
    )


Located = dict[tuple[int, int], tuple[OutlineLine, np.ndarray, bool]]
"""Sentence units by their (start, end) in the document: the line, its vector, and whether it
stands on a line of its own as a title does (`_standalone`)."""


def _located_units(chunks: Iterable[Document], units: SentenceUnits) -> Located:
    """Every sentence unit of the document, once (the windows overlap), by its (start, end)
    in the document, with its vector; standalone unless a window shows it is not."""
    found: Located = {}
    for chunk in chunks:
        texts, vectors = units(chunk)
        meta, position = chunk.metadata, 0
        for text, vector in zip(texts, vectors, strict=False):
            at = chunk.page_content.find(text, position)
            if at < 0:  # a run of sentences joined by `sentence_units`: not one span
                continue
            position = at + len(text)
            start = meta["start"] + at
            span = (start, start + len(text))
            alone = _standalone(chunk.page_content, at, position)
            if span in found:
                line, vector, seen_alone = found[span]
                alone = alone and seen_alone
            else:
                line = OutlineLine(meta["source"], *span, text, False, page=meta.get("page"))
            found[span] = (line, vector, alone)
    return found


def _standalone(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a whole line, after a blank line or a short one (what comes
    before a window's start is not known: it counts as standalone)."""
    before = text[:start]
    if before.rstrip(" \t") and not before.rstrip(" \t").endswith("\n"):
        return False
    if text[end:].lstrip(" \t")[:1] not in ("", "\n"):
        return False
    lines = before.rstrip(" \t").splitlines()
    return not lines or len(lines[-1].strip()) <= _SHORT_LINE


def _headings(source: str, lines: Located, most: int) -> list[OutlineLine]:
    """Short standalone lines that read as titles, first occurrence of each."""
    seen: set[str] = set()
    headings = []
    for line, _vector, alone in sorted(lines.values(), key=lambda row: row[0].start):
        text = line.text.strip()
        title = _ITEM.sub("", _HEADING_MARK.sub("", text)).strip()
        if not alone or not _titled(text, title):
            continue
        key = re.sub(r"\W", "", title.lower())
        if key in seen or len(headings) == most:
            continue
        seen.add(key)
        headings.append(OutlineLine(source, line.start, line.end, text, True, page=line.page))
    return headings


def _titled(text: str, title: str) -> bool:
    """Whether a line reads as a title: short (a list item's shorter still), no sentence end,
    option, link, formula or code, not a lone lowercase word, nor mostly single letters (a
    formula's: `p ( I , a m )`)."""
    item = _ITEM.match(text)
    longest = _SHORT_ITEM if item else 40
    if not (2 <= len(title) <= longest) or _SENTENCE_LIKE.search(text):
        return False
    if _BULLET.match(text) and not item:
        return False
    if _NOT_PROSE.search(text) or _CODE.search(text) or _CLAUSES.match(title):
        return False
    words = title.split()
    letters = sum(len(word) == 1 for word in words)
    lone = _MOSTLY_SYMBOLS.match(title) or _LOWER_WORD.match(title)
    return not lone and 2 * letters <= len(words)


def _key_sentences(
    candidates: list[tuple[OutlineLine, np.ndarray]], wanted: int, diversity: float
) -> list[OutlineLine]:
    """Maximal marginal relevance around the centroid of the candidates."""
    if not candidates or wanted <= 0:
        return []
    vectors = np.asarray([vector for _line, vector in candidates], dtype=np.float32)
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    relevance = vectors @ centroid
    picked: list[int] = []
    closest_picked = np.full(len(candidates), -1.0, dtype=np.float32)
    while len(picked) < min(wanted, len(candidates)):
        gain = (1 - diversity) * relevance - diversity * np.maximum(closest_picked, 0.0)
        gain[picked] = -np.inf
        best = int(np.argmax(gain))
        picked.append(best)
        closest_picked = np.maximum(closest_picked, vectors @ vectors[best])
    return [replace(candidates[i][0], score=round(float(relevance[i]), 4)) for i in picked]
