"""How the passages of a question beyond one passage are put together (`chains.kinds`): a
comparison searches once per thing compared and takes turns between the searches, so that both
sides reach the prompt; a list keeps at most a few passages per document; an overview takes the
headings, then the best key sentences, of every document's outline in turns; a summary reads
the outline of the document the question is about.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest

from langchain_core.documents import Document

from chains.claims import content_units
from chains.naming import document_name
from chains.outline import OutlineLine


@dataclass(frozen=True)
class Selection:
    """The passages a question is answered from, and how many it found that did not fit the
    context budget (the answer says its material was cut)."""

    passages: list[Document]
    left_out: int = 0


def in_turns(lists: Iterable[Sequence[Document]]) -> list[Document]:
    """The first of each list, then the second of each, and so on; each passage once."""
    seen: set[str | None] = set()
    merged = []
    for row in zip_longest(*lists):
        for document in row:
            if document is not None and document.id not in seen:
                seen.add(document.id)
                merged.append(document)
    return merged


def per_document(documents: Iterable[Document], most: int) -> list[Document]:
    """The passages in order, at most `most` from one document."""
    taken: Counter[str] = Counter()
    kept = []
    for document in documents:
        source = document.metadata["source"]
        if taken[source] < most:
            taken[source] += 1
            kept.append(document)
    return kept


def main_document(found: Sequence[Document]) -> str | None:
    """The document most of the found passages come from (ties: the better ranked)."""
    counts = Counter(d.metadata["source"] for d in found)
    if not counts:
        return None
    return max(counts, key=lambda source: (counts[source], -_first_rank(found, source)))


def shared_words(
    outlines: Mapping[str, Sequence[OutlineLine]], phrasings: Sequence[str]
) -> dict[str, int]:
    """Per document, the most content units (`chains.claims.content_units`: Chinese character
    pairs, words) one of its headings shares with any of `phrasings` (a question and its
    translation): a question describing a document names its sections' words (语言模型的发展过程
    for 讲语言模型发展过程的那篇笔记)."""
    asked = set().union(*(content_units(text) for text in phrasings))
    return {
        source: max(
            (len(content_units(line.text) & asked) for line in lines if line.heading), default=0
        )
        for source, lines in outlines.items()
    }


def _first_rank(found: Sequence[Document], source: str) -> int:
    return next(i for i, d in enumerate(found) if d.metadata["source"] == source)


def key_passages(outlines: Mapping[str, Sequence[OutlineLine]], most: int) -> list[Document]:
    """Each document's first `most` lines as passages, documents taking turns, so every
    document is in an overview before any gets another line: its first heading (its title),
    its other headings, then its key sentences, each closest to the document's centroid first
    (`OutlineLine.score`). Headings that
    documents share but for their own name (`名称`, `KILL(1) 用户命令 KILL(1)`) are left
    out: they tell the documents apart no more than a page number."""
    shared = _boilerplate(outlines)
    best = []
    for lines in outlines.values():
        kept = [line for line in lines if not line.heading or _shape(line) not in shared]
        title = next((line for line in kept if line.heading), None)
        rest = sorted(
            (line for line in kept if line is not title),
            key=lambda line: (not line.heading, -line.score),
        )
        best.append(([title] if title else []) + rest)
    return in_turns([[line.as_passage() for line in lines[:most]] for lines in best])


def _shape(line: OutlineLine) -> str:
    """A heading without its document's name, digits and punctuation."""
    name = document_name(line.source)
    return re.sub(r"[\W\d_]", "", line.text.lower().replace(name, "")) if name else line.text


def _boilerplate(outlines: Mapping[str, Sequence[OutlineLine]]) -> set[str]:
    """Heading shapes (`_shape`) found in three documents or more, and in a quarter of them."""
    counts = Counter(
        shape
        for lines in outlines.values()
        for shape in {_shape(line) for line in lines if line.heading}
    )
    return {shape for shape, n in counts.items() if n >= 3 and 4 * n >= len(outlines)}


def outline_answer(passages: Sequence[Document]) -> str:
    """An outline written as the answer: one cited line per passage, in document order."""
    return "\n".join(
        f"- {' '.join(document.page_content.split())} [{number}]"
        for number, document in sorted(
            enumerate(passages, start=1),
            key=lambda pair: (pair[1].metadata["source"], pair[1].metadata["start"]),
        )
    )
