"""Numbered sources in, cited answers out.

Small local models often leave out `[n]` or cite the wrong passage (the bundled 0.5B model favours
`[2]`), and sometimes invent an answer and cite it anyway, so citations are checked here. A passage
supports an answer sentence when it holds at least half of the sentence's content (Chinese
character bigrams, English content words; all of it, for a sentence of a few words), or, when no
passage does, when the embedder finds a sentence of it similar enough to the answer sentence
(`embedder_support`): an English answer translating a Chinese note shares no words with it. Either
way the passage must state each number the sentence states (`chains.quantities`) and each of its
key terms, names and technical terms (`chains.claims`), and the answer's first claim must answer
the question (a quantity where one is asked). A sentence
cites the passage that supports it best, unless the markers it already has point at one that
supports it; a sentence no passage supports gets no citation and is reported unsupported. A
marker naming no passage (`[2]` when one was given) is dropped: the reader could not follow it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.documents import Document

from chains.claims import content_units, missing_terms, off_question
from chains.injection import neutralize, passage_for_model
from chains.quantities import stated
from chains.rerank import SentenceSimilarity
from errors import Message
from i18n import N_
from text.language import is_refusal, main_language
from text.normalize import normalize_text

_MARKER = re.compile(r"\[(\d{1,2})\]")
_SPACED_MARKER = re.compile(r"\s*\[(\d{1,2})\]")
_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])(?![。！？!?\n])|(?<=\.)(?=\s)")
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


Similar = Callable[[str, Sequence[Document]], list[float]]
"""(answer sentence, passages) -> per passage, how far the similarity of its closest sentence to
the answer sentence clears the floor (at least 0: the passage supports the sentence)."""


@dataclass(frozen=True)
class Support:
    """What counts as a passage supporting an answer sentence: sharing at least half of its
    content, or, with `similar`, a sentence of the passage similar enough to it (tried only
    when no passage shares enough, so sentences placed by shared words are cited as before)."""

    similar: Similar | None = None


def embedder_support(similarity: SentenceSimilarity, same: float, across: float) -> Support:
    """Support by the knowledge base's embedder: a passage's sentence supports an answer
    sentence from similarity `same` when both are in one language, `across` when not (texts
    in one language score higher whatever they say). Each answer sentence is embedded once, on
    the query side (it separated right from wrong better than the passage side); the
    passages' sentence vectors come from the index."""

    def similar(claim: str, sources: Sequence[Document]) -> list[float]:
        vector = similarity.queries([claim])[0]
        language = main_language(claim)
        margins = []
        for document in sources:
            floors = [
                same if main_language(text) == language else across
                for text in similarity.sentence_texts(document)
            ]
            margins.append(float((similarity.sentence_vectors(document) @ vector - floors).max()))
        return margins

    return Support(similar)


@dataclass
class Checked:
    """An answer with checked citations, and its sentences (markers removed) that a passage
    supports and that none does. Sentences without content, and refusals, are neither."""

    text: str
    supported: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    withheld: str = ""
    """The answer `text` replaced, when it is a refusal because nothing else was supported
    (`CitationStream`)."""
    why: dict[str, Message] = field(default_factory=dict)
    """Why an unsupported sentence is, where a rule says more than "no passage shares enough":
    the key terms its passage does not state, or how it misses the question."""


def check_citations(
    answer: str, sources: Sequence[Document], support: Support = Support(), question: str = ""
) -> Checked:
    """The answer with each sentence citing the passage that supports it (see module): `[n]`
    is added where a sentence has no marker, and replaces the sentence's markers when none of
    the passages they name supports it; a sentence no passage supports loses its markers. A
    marker naming no passage is dropped everywhere. With the `question`, its terms need no
    passage and the first claim must answer it (`chains.claims`)."""
    return _Checker(sources, support, question).check(answer)


def attribute_citations(
    answer: str, sources: Sequence[Document], support: Support = Support()
) -> str:
    """The text of `check_citations`."""
    return check_citations(answer, sources, support).text


class _Checker:
    """Checks answers over one list of passages; an answer sentence's similarities are computed
    once (a streamed answer is checked again as it grows)."""

    def __init__(self, sources: Sequence[Document], support: Support, question: str) -> None:
        self.sources = sources
        self.support = support
        self.question = question
        self.texts = [normalize_text(d.page_content) for d in sources]
        self.passages = [content_units(text) for text in self.texts]
        self.numbers = [stated(text, unscaled=True) for text in self.texts]
        self._similar: dict[str, list[float]] = {}
        self._supported: dict[str, tuple[list[int] | None, Message | None]] = {}
        """Each claim's verdict: a streamed answer is checked again as each sentence ends."""

    def check(self, answer: str) -> Checked:
        checked = Checked("")
        pieces = []
        for sentence in _SENTENCE_END.split(answer):
            stripped = sentence.rstrip()
            tail = sentence[len(stripped) :]
            body = _SPACED_MARKER.sub(
                lambda m: m.group() if 1 <= int(m.group(1)) <= len(self.passages) else "",
                stripped,
            )
            claim = _SPACED_MARKER.sub("", body).strip()
            if claim not in self._supported:
                self._supported[claim] = self._supporting(claim)
            supporting, why = self._supported[claim]
            if supporting and not checked.supported and not checked.unsupported:
                why = self._off_question(claim, supporting[0])  # the answer's main claim
                supporting = [] if why else supporting
            cited = [int(n) - 1 for n in _MARKER.findall(body)]
            if not supporting:
                body = _SPACED_MARKER.sub("", body)
                if supporting is not None:
                    checked.unsupported.append(claim)
                    if why:
                        checked.why[claim] = why
            else:
                checked.supported.append(claim)
                if not any(n in supporting for n in cited):
                    body = _cite(body, supporting[0] + 1)
            pieces.append(body + tail)
        checked.text = "".join(pieces)
        return checked

    def _supporting(self, claim: str) -> tuple[list[int] | None, Message | None]:
        """The passages supporting the claim, best first (None when it is no claim: no
        content, or a refusal), and why none does when a rule decided it. Only a passage
        stating each of the claim's numbers and key terms can."""
        shares = _shares(claim, self.passages)
        if not shares or is_refusal(claim):
            return None, None
        numbers = stated(normalize_text(claim))
        possible = {i for i, held in enumerate(self.numbers) if numbers <= held}
        found = [i for i in _best_first(shares) if shares[i] >= _MIN_SHARED and i in possible]
        if not found and self.support.similar is not None and possible:
            if claim not in self._similar:
                self._similar[claim] = self.support.similar(claim, self.sources)
            margins = self._similar[claim]
            found = [i for i in _best_first(margins) if margins[i] >= 0 and i in possible]
        missing = [missing_terms(claim, self.texts[i], self.question) for i in found]
        stating = [i for i, lacks in zip(found, missing, strict=True) if not lacks]
        if found and not stating:
            return [], Message(
                N_("its passage does not state {terms}"), terms=", ".join(missing[0])
            )
        return stating, None

    def _off_question(self, claim: str, passage: int) -> Message | None:
        """Why the answer's first claim, supported by `passage`, misses the question."""
        if not self.question:
            return None
        units = len(content_units(claim))
        return off_question(claim, self.question, self.texts[passage], units)


_HELD_BACK = re.compile(r"\s*\[|\s+$")
"""Where the unfinished sentence of a streamed answer stops being safe to show: a marker may
start at a `[` (its whitespace goes with it if it names no passage), and `[n]` may be added
before trailing whitespace."""


class CitationStream:
    """An answer streamed with its citations already checked: `feed` takes the model's pieces
    and returns what can be shown now, `finish` the rest; all of it together is exactly
    `text`. Finished sentences are checked as a whole (each sentence's check depends on it
    alone); of the sentence being written, only the part before its first `[` (and before
    trailing whitespace) is shown, since checking changes nothing before that. So a wrong
    marker never flashes on screen, and every face streams the text it ends with.

    With a `refusal`, an answer of which no sentence is supported (and that is not a refusal
    already) ends as that refusal instead: nothing is shown until a finished sentence is
    supported, so no text is shown that the answer then takes back."""

    def __init__(
        self,
        sources: Sequence[Document],
        support: Support = Support(),
        refusal: str | None = None,
        question: str = "",
    ) -> None:
        self.sources = sources
        self.refusal = refusal
        self.raw = ""
        self.shown = ""
        self._checker = _Checker(sources, support, question)
        self._checked = Checked("")
        self._checked_raw_length = 0

    def feed(self, piece: str) -> str:
        self.raw += piece
        pieces = _SENTENCE_END.split(self.raw)
        done = "".join(pieces[:-1])
        if len(done) != self._checked_raw_length:
            self._checked = self._checker.check(done)
            self._checked_raw_length = len(done)
        if self.refusal is not None and not self._checked.supported:
            return ""
        writing = pieces[-1]
        held = _HELD_BACK.search(writing)
        return self._show(self._checked.text + (writing[: held.start()] if held else writing))

    def finish(self, complete: bool = True) -> str:
        """The rest of the answer, once the model is done; `complete=False` (cancelled, or the
        model failed) never turns what it wrote into the refusal."""
        if not complete:
            self.refusal = None
        return self._show(self.text)

    @property
    def checked(self) -> Checked:
        """The whole answer so far, checked; the refusal when it replaces the answer, or when
        the model refused in another language (a prompt in the passages' language)."""
        checked = self._checker.check(self.raw)
        if self.refusal is None or checked.supported or not checked.text:
            return checked
        if is_refusal(self.raw):
            return Checked(self.refusal)
        return Checked(self.refusal, withheld=checked.text, why=checked.why)

    @property
    def text(self) -> str:
        return self.checked.text

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
    return _shares(_MARKER.sub("", claim), [content_units(s) for s in sentences])


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


def _best_first(scores: list[float]) -> list[int]:
    """Indexes of `scores`, highest first (ties: lower index first)."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])


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
    grams = content_units(sentence)
    if not grams:
        return []
    shares = [len(grams & passage) / len(grams) for passage in passages]
    return shares if len(grams) >= _FEW_UNITS else [float(share == 1.0) for share in shares]
