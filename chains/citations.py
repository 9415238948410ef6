"""Numbered sources in, cited answers out.

Small local models often leave out `[n]` or cite the wrong passage (the bundled 0.5B model favours
`[2]`), so citations are checked here: an answer sentence gets the number of the passage it shares
most content with (Chinese character bigrams, English content words), when it shares at least half
of its own (all of it, for a sentence of a few words), unless the markers it already has point at a
passage that supports it that well. A marker naming no passage (`[2]` when one was given) is
dropped: the reader could not follow it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from langchain_core.documents import Document

from chains.injection import neutralize, passage_for_model
from index.bm25 import STOP_WORDS
from loaders.normalize import normalize_text

_MARKER = re.compile(r"\[(\d{1,2})\]")
_SPACED_MARKER = re.compile(r"\s*\[(\d{1,2})\]")
_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])(?![。！？!?\n])|(?<=\.)(?=\s)")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+")
_MIN_SHARED = 0.5
_FEW_UNITS = 4


def source_label(document: Document) -> str:
    """`file`, `file, p. 3` or `file, Sheet1` (a named page), with `, OCR` when the text was
    recognized from an image: how a passage is named to the model and to the user."""
    meta = document.metadata
    page = meta.get("page_label") or (f"p. {meta['page']}" if meta.get("page") else "")
    label = f"{meta['source']}, {page}" if page else meta["source"]
    return f"{label}, OCR" if meta.get("ocr") else label


def format_context(sources: Sequence[Document]) -> str:
    """The numbered passages of the prompt, each as the model may see it (`chains.injection`):
    nothing in a passage or its file name can open a message, a passage or a question."""
    return "\n\n".join(
        f"[{number}] ({neutralize(' '.join(source_label(doc).split()))})\n{passage_for_model(doc)}"
        for number, doc in enumerate(sources, start=1)
    )


def fit_to_budget(
    sources: Sequence[Document], count_tokens: Callable[[str], int], budget: int
) -> list[Document]:
    """The best-ranked passages whose formatted text fits `budget` tokens (at least one,
    cut short if even the best is too long)."""
    kept: list[Document] = []
    used = 0
    for document in sources:
        cost = count_tokens(format_context([document])) + 2
        if used + cost > budget:
            break
        kept.append(document)
        used += cost
    if not kept and sources:
        best = sources[0]
        ratio = budget / max(1, count_tokens(best.page_content) + 16)
        cut = best.page_content[: max(1, int(len(best.page_content) * ratio))]
        kept.append(Document(id=best.id, page_content=cut, metadata=best.metadata))
    return kept


def cited_numbers(answer: str, source_count: int) -> list[int]:
    """Source numbers the answer cites that exist, in order of first citation."""
    numbers = [int(n) for n in _MARKER.findall(answer)]
    return list(dict.fromkeys(n for n in numbers if 1 <= n <= source_count))


def attribute_citations(answer: str, sources: Sequence[Document]) -> str:
    """The answer with each sentence citing the passage it comes from: `[n]` is added where a
    sentence has no marker, and replaces the sentence's markers when none of the passages they
    name supports it but passage n does. Sentences no passage supports keep their markers. A
    marker naming no passage is dropped everywhere."""
    passages = [_units(normalize_text(d.page_content)) for d in sources]
    pieces = []
    for sentence in _SENTENCE_END.split(answer):
        stripped = sentence.rstrip()
        tail = sentence[len(stripped) :]
        body = _SPACED_MARKER.sub(
            lambda m: m.group() if 1 <= int(m.group(1)) <= len(passages) else "", stripped
        )
        shares = _shares(_MARKER.sub("", body), passages)
        best = _best_supported(shares)
        cited = [int(n) - 1 for n in _MARKER.findall(body)]
        if best is not None and not any(shares[n] >= _MIN_SHARED for n in cited):
            body = _cite(body, best + 1)
        pieces.append(body + tail)
    return "".join(pieces)


_HELD_BACK = re.compile(r"\s*\[|\s+$")
"""Where the unfinished sentence of a streamed answer stops being safe to show: a marker may
start at a `[` (its whitespace goes with it if it names no passage), and `[n]` may be added
before trailing whitespace."""


class CitationStream:
    """An answer streamed with its citations already checked: `feed` takes the model's pieces
    and returns what can be shown now, `finish` the rest; all of it together is exactly
    `attribute_citations(answer, sources)`. Finished sentences are checked as a whole (each
    sentence's check depends on it alone); of the sentence being written, only the part before
    its first `[` (and before trailing whitespace) is shown, since checking changes nothing
    before that. So a wrong marker never flashes on screen, and every face streams the text it
    ends with."""

    def __init__(self, sources: Sequence[Document]) -> None:
        self.sources = sources
        self.raw = ""
        self.shown = ""
        self._checked = ""
        self._checked_raw_length = 0

    def feed(self, piece: str) -> str:
        self.raw += piece
        pieces = _SENTENCE_END.split(self.raw)
        done = "".join(pieces[:-1])
        if len(done) != self._checked_raw_length:
            self._checked = attribute_citations(done, self.sources)
            self._checked_raw_length = len(done)
        writing = pieces[-1]
        held = _HELD_BACK.search(writing)
        return self._show(self._checked + (writing[: held.start()] if held else writing))

    def finish(self) -> str:
        """The rest of the answer, once the model is done."""
        return self._show(self.text)

    @property
    def text(self) -> str:
        """The whole answer so far with its citations checked."""
        return attribute_citations(self.raw, self.sources)

    def _show(self, target: str) -> str:
        new = target[len(self.shown) :] if target.startswith(self.shown) else ""
        self.shown += new
        return new


def supporting_sentence(claim: str, text: str) -> str | None:
    """The sentence of `text` that holds most of `claim`'s content, when it holds at least half
    of it: a claim turned into a verbatim quote."""
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    best = _best_supported(sentence_shares(claim, sentences))
    return sentences[best] if best is not None else None


def sentence_shares(claim: str, sentences: Sequence[str]) -> list[float]:
    """Per sentence, the share of `claim`'s content it holds, as attribution counts it."""
    return _shares(_MARKER.sub("", claim), [_units(normalize_text(s)) for s in sentences])


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, cut where attribution cuts, whitespace trimmed,
    empty ones left out."""
    spans, position = [], 0
    for piece in _SENTENCE_END.split(text):
        start = position + len(piece) - len(piece.lstrip())
        end = position + len(piece.rstrip())
        position += len(piece)
        if start < end:
            spans.append((start, end))
    return spans


def claims_citing(answer: str, number: int) -> list[str]:
    """What the answer says with `[number]`: for each such marker, the sentence written before
    it (since the previous marker), markers removed. A model or `attribute_citations` puts the
    marker after the sentence's end (`…。[1]`), so the text before a marker is its claim."""
    claims, previous, claim = [], 0, ""
    for marker in _MARKER.finditer(answer):
        spans = sentence_spans(answer[previous : marker.start()])
        if spans:  # markers side by side (`[1][2]`) share the sentence before the first
            claim = answer[previous + spans[-1][0] : previous + spans[-1][1]]
        previous = marker.end()
        if int(marker.group(1)) == number and claim:
            claims.append(claim)
    return claims


def _best_supported(shares: list[float]) -> int | None:
    """Index of the text holding most of the claim, if it holds at least half of it."""
    best = max(range(len(shares)), key=shares.__getitem__) if shares else None
    return best if best is not None and shares[best] >= _MIN_SHARED else None


def _cite(sentence: str, number: int) -> str:
    """The sentence citing `[number]`: in place of its first marker (others removed), or at
    its end."""
    first = _MARKER.search(sentence)
    if first is None:
        return f"{sentence}[{number}]"
    rest = _MARKER.sub("", sentence[first.end() :])
    return f"{sentence[: first.start()]}[{number}]{rest}"


def _shares(sentence: str, passages: list[set[str]]) -> list[float]:
    """Per passage, the fraction of the sentence's content it contains (empty when the sentence
    has none). A short sentence (a term, a number: under four units) counts only where all of
    it appears, since half of two words proves nothing."""
    grams = _units(normalize_text(sentence))
    if not grams:
        return []
    shares = [len(grams & passage) / len(grams) for passage in passages]
    return shares if len(grams) >= _FEW_UNITS else [float(share == 1.0) for share in shares]


def _units(text: str) -> set[str]:
    """What two texts must share to count as the same content: character bigrams of Chinese
    runs, and content words (not stop words) of Latin text."""
    units: set[str] = set()
    for run in _CJK_RUN.findall(text):
        units.update(run[i : i + 2] for i in range(len(run) - 1))
    units.update(w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in STOP_WORDS)
    return units
