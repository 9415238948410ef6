"""Answer quality on a QA set: every question asked through the answer service, and the final
`Answer` scored (its text with checked citations, the refusal where nothing was supported):
time to the first piece shown and to the whole answer, containment, citations, refusals. Used
by `bench/answer.py` and the answer quality gates (tests/test_answer_quality.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from evaluation.scoring import QAItem, rate, score_checked
from services.answering import Answer, AnswerOptions, RagService


@dataclass(frozen=True)
class Timed:
    """A finished answer with its time to the first piece shown and to the end, in seconds."""

    answer: Answer
    ttft_s: float
    answer_s: float


def timed_answer(service: RagService, question: str, options: AnswerOptions | None = None) -> Timed:
    """Ask as every face does (streamed), timing from the question; a failed answer stops the
    run, since its scores would mean nothing."""
    started = time.perf_counter()
    first = None
    answer: Answer | None = None
    for event in service.stream(question, options=options or AnswerOptions()):
        if isinstance(event, Answer):
            answer = event
        elif isinstance(event, str):
            first = first or time.perf_counter()
    finished = time.perf_counter()
    if answer is None or answer.error:
        raise SystemExit(f"{service.profile}: {answer.error if answer else 'no answer'}")
    return Timed(answer, (first or finished) - started, finished - started)


def answer_rows(
    service: RagService,
    items: list[QAItem],
    options_for: Callable[[QAItem], AnswerOptions] = lambda item: AnswerOptions(),
) -> list[dict]:
    """Ask every question (with `options_for` it) and score the service's final answer: one
    row per question."""
    rows = []
    for item in items:
        timed = timed_answer(service, item.question, options_for(item))
        answer = timed.answer
        passages = [card.text for card in answer.sources]
        score = score_checked(answer.text, answer.cited, passages, item.answer)
        rows.append(
            {
                "qid": item.qid,
                "language": item.language,
                "ttft_s": timed.ttft_s,
                "answer_s": timed.answer_s,
                **score.row(),
            }
        )
    return rows


def summarize(rows: list[dict]) -> dict:
    """`_summarize` overall, and per question language under `by_language`."""
    by_language = {
        language: _summarize([r for r in rows if r["language"] == language])
        for language in sorted({r["language"] for r in rows})
    }
    return {**_summarize(rows), "by_language": by_language}


def _summarize(rows: list[dict]) -> dict:
    """Answer rates over the answerable questions (false refusals: those refused), refusals
    over the absent ones and how many of them were answered with a citation anyway (cited
    falsehoods: no passage holds the answer), speed over all of them."""
    answerable = [r for r in rows if r["answerable"]]
    absent = [r for r in rows if not r["answerable"]]
    return {
        "n": len(answerable),
        "containment": rate(answerable, "contained"),
        "citations_present": rate(answerable, "cited"),
        "false_refusals": rate(answerable, "refused"),
        "citations_in_non_refusals": rate([r for r in answerable if not r["refused"]], "cited"),
        "absent_n": len(absent),
        "refused_when_absent": rate(absent, "refused"),
        "cited_falsehoods": sum(r["cited"] and not r["refused"] for r in absent),
        "ttft_p50_s": round(statistics.median(r["ttft_s"] for r in rows), 2),
        "ttft_p95_s": round(sorted(r["ttft_s"] for r in rows)[int(0.95 * (len(rows) - 1))], 2),
        "answer_s_p50": round(statistics.median(r["answer_s"] for r in rows), 2),
    }
