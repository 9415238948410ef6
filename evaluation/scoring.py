"""Retrieval quality on a QA set: hit@k, MRR@10 and latency, overall and per question language,
the numbers `evaluate.py` prints.

A question is answered at rank r when the r-th retrieved chunk contains the expected answer
string, both compared after NFKC and with all whitespace removed (PDF and web text breaks lines
anywhere), and, when asked, the chunk comes from the expected file.

Every QA item belongs to a fixed split: `tune` (knobs may be tuned on it) or `report` (only
reported). A line's `split` field says which; without one, the rule that made the committed
sets decides: per file and question language, in qid order, the 1st, 3rd, 5th... are `tune`.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from langchain_core.documents import Document

from chains.citations import attribute_citations, cited_numbers
from errors import RagchatError
from text.language import is_refusal, question_language
from text.normalize import normalize_text

_WHITESPACE = re.compile(r"\s+")
T = TypeVar("T")
SPLITS = ("tune", "report")


class QAFormatError(RagchatError):
    """A QA file line that is not a JSON object with a question and an answer."""


@dataclass(frozen=True)
class QAItem:
    qid: str
    question: str
    answer: str | None
    """None: the documents do not hold the answer, so refusing is right (answer benchmark)."""
    file: str | None = None
    split: str | None = None
    """`tune` or `report` (see the module); None for items made outside a QA file."""

    @property
    def language(self) -> str:
        """The question's language (`zh` or `en`): results are reported per language."""
        return question_language(self.question)


@dataclass
class ModeResult:
    mode: str
    ranks: dict[str, int | None] = field(default_factory=dict)
    """Rank of the first hit per qid (None: not in the top k)."""
    latencies_ms: dict[str, float] = field(default_factory=dict)
    """Per qid."""
    languages: dict[str, str] = field(default_factory=dict)
    """The question language per qid."""

    def only(self, language: str) -> ModeResult:
        """The result restricted to the questions in one language."""
        qids = [q for q, lang in self.languages.items() if lang == language]
        return ModeResult(
            self.mode,
            {q: self.ranks[q] for q in qids},
            {q: self.latencies_ms[q] for q in qids},
            {q: language for q in qids},
        )

    def hit_at(self, k: int) -> float:
        hits = sum(1 for rank in self.ranks.values() if rank is not None and rank <= k)
        return hits / len(self.ranks)

    def mrr_at(self, k: int) -> float:
        total = sum(1 / rank for rank in self.ranks.values() if rank is not None and rank <= k)
        return total / len(self.ranks)

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms.values())
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def failures(self, k: int = 5) -> dict[str, int | None]:
        return {q: r for q, r in self.ranks.items() if r is None or r > k}

    def measures(self) -> dict:
        """hit@1/3/5, MRR@10, p50 and p95 latency."""
        return {
            "n": len(self.ranks),
            "hit_at_1": round(self.hit_at(1), 4),
            "hit_at_3": round(self.hit_at(3), 4),
            "hit_at_5": round(self.hit_at(5), 4),
            "mrr_at_10": round(self.mrr_at(10), 4),
            "p50_ms": round(statistics.median(self.latencies_ms.values()), 2),
            "p95_ms": round(self.percentile_ms(0.95), 2),
        }

    def by_language(self) -> dict[str, ModeResult]:
        return {language: self.only(language) for language in sorted(set(self.languages.values()))}

    def summary(self) -> dict:
        """The measures overall, and under `by_language` per question language."""
        per_language = {lang: r.measures() for lang, r in self.by_language().items()}
        return {"mode": self.mode, **self.measures(), "by_language": per_language}


def squeeze(text: str) -> str:
    """The form both sides of the hit rule are compared in."""
    return _WHITESPACE.sub("", normalize_text(text))


def read_qa(path: Path, allow_absent: bool = False, split: str = "all") -> list[QAItem]:
    """Parse a QA JSONL file (`question`, `answer`, optional `qid`, `file` and `split` per
    line), naming the line of any problem, and keep the items of `split` (`all`: every one).
    With `allow_absent`, `"answer": null` marks a question the documents cannot answer."""

    def parse(record: dict, number: int) -> QAItem:
        qid = str(record.get("qid", f"{path.stem}:{number}"))
        item = QAItem(
            qid, record["question"], record["answer"], record.get("file"), record.get("split")
        )
        absent_ok = allow_absent and item.answer is None
        if not isinstance(item.question, str) or not (isinstance(item.answer, str) or absent_ok):
            raise ValueError("question and answer must be strings")
        if item.split is not None and item.split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {item.split!r}")
        return item

    items = _with_splits(read_jsonl(path, parse, QAFormatError, "questions"))
    return [item for item in items if split in ("all", item.split)]


def _with_splits(items: list[QAItem]) -> list[QAItem]:
    """Each item with its split: its own, or by the rule (see the module)."""
    ruled: dict[str, str] = {}
    for language in {item.language for item in items}:
        qids = sorted(item.qid for item in items if item.language == language)
        ruled.update((qid, SPLITS[position % 2]) for position, qid in enumerate(qids))
    return [item if item.split else replace(item, split=ruled[item.qid]) for item in items]


def read_jsonl(
    path: Path, parse: Callable[[dict, int], T], error: type[Exception], what: str
) -> list[T]:
    """`parse(record, line number)` for every non-blank line of a JSONL file. A line that is not
    JSON, or that `parse` rejects (ValueError, KeyError, TypeError), raises `error` naming the
    file and line; so does a file with nothing in it."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse(json.loads(line), number))
        except (ValueError, KeyError, TypeError) as err:
            problem = f"missing key {err}" if isinstance(err, KeyError) else str(err)
            raise error(f"{path} line {number}: {problem}") from None
    if not items:
        raise error(f"{path}: no {what}")
    return items


def evaluate_retrieval(
    search: Callable[[str], list[Document]],
    items: list[QAItem],
    mode: str,
    match_file: bool = False,
) -> ModeResult:
    """Run every question once (after one warm-up) and record the first-hit rank, latency and
    question language."""
    result = ModeResult(mode)
    search(items[0].question)
    for item in items:
        started = time.perf_counter()
        documents = search(item.question)
        result.latencies_ms[item.qid] = (time.perf_counter() - started) * 1000
        result.languages[item.qid] = item.language
        answer = squeeze(item.answer)
        result.ranks[item.qid] = next(
            (
                rank
                for rank, document in enumerate(documents, start=1)
                if answer in squeeze(document.page_content)
                and (not match_file or Path(document.metadata["source"]).name == item.file)
            ),
            None,
        )
    return result


@dataclass(frozen=True)
class AnswerScore:
    """How one generated answer did: the answer benchmark's and `finetune.py eval`'s measures."""

    answer: str
    """The answer with ragchat's checked citations."""
    model_cited: bool | None
    """The model itself wrote a [n] naming an existing passage (None: not known)."""
    cited: bool
    """The answer cites a passage after checking."""
    contained: bool
    """The expected answer is in the answer or in a passage it cites."""
    refused: bool
    """The answer says the documents lack the answer."""
    answerable: bool
    """The passages hold an answer (otherwise refusing is right)."""

    @property
    def correct(self) -> bool:
        return self.contained if self.answerable else self.refused

    def row(self) -> dict:
        """The measures as a flat dict, `correct` included: one row of a results table."""
        return {**asdict(self), "correct": self.correct}


def rate(rows: list[dict], key: str) -> float | None:
    """The share of `rows` whose `key` is true (None when there are no rows)."""
    return round(sum(r[key] for r in rows) / len(rows), 3) if rows else None


def score_answer(answer: str, sources: list[Document], expected: str | None) -> AnswerScore:
    """Score a model's raw `answer` to a question whose passages were `sources` and whose right
    answer is `expected` (None: the passages lack it, so refusing is right): its citations are
    checked here."""
    annotated = attribute_citations(answer, sources)
    cited = cited_numbers(annotated, len(sources))
    score = score_checked(answer, cited, [d.page_content for d in sources], expected)
    return replace(score, answer=annotated, model_cited=bool(cited_numbers(answer, len(sources))))


def score_checked(
    text: str, cited: Sequence[int], passages: Sequence[str], expected: str | None
) -> AnswerScore:
    """Score an answer whose citations ragchat already checked, as the service's final `Answer`
    gives it (`text`, `cited`, the sources' texts): containment counts the answer and the
    passages it cites. Whether the model wrote the markers itself is not known (None)."""
    evidence = text + "".join(passages[n - 1] for n in cited)
    return AnswerScore(
        answer=text,
        model_cited=None,
        cited=bool(cited),
        contained=expected is not None and squeeze(expected) in squeeze(evidence),
        refused=is_refusal(text),
        answerable=expected is not None,
    )
