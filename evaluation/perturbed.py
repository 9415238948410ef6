"""Faithfulness on perturbed passages: does the answer follow the passage it is given, or what
the model believes?

For each answerable question, the best-ranked passage holding the expected answer has that
answer changed: its numbers to other numbers (3 -> 10, 1750 -> 5257), or, when it states none,
the whole answer string to the expected answer of another question. Asked with that one passage,
a faithful answer states the changed fact or refuses; it never states the original fact with a
citation, since no passage it was given says so. Built at run time from a QA set and its index
(the seed notes may not be copied into the repository).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.documents import Document

from evaluation.answers import timed_answer
from evaluation.scoring import QAItem, rate, squeeze
from services.answering import AnswerOptions, RagService
from text.language import is_refusal

SEARCHED = 30
"""Passages searched for one holding the expected answer."""
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Perturbed:
    """A question with its answer's passage changed: `original` replaced by `changed`."""

    item: QAItem
    original: str
    changed: str
    passage: Document


def perturb(answer: str, others: Sequence[str]) -> str:
    """The answer with another fact: its numbers changed (n -> 3n + 1), or, without numbers,
    the first of `others` that differs from it."""
    if _DIGITS.search(answer):
        return _DIGITS.sub(lambda m: str(3 * int(m.group()) + 1), answer)
    return next(other for other in others if squeeze(other) != squeeze(answer))


def perturbed_set(service: RagService, items: Sequence[QAItem]) -> list[Perturbed]:
    """One perturbed passage per answerable question whose answer retrieval finds verbatim."""
    answerable = [item for item in items if item.answer]
    answers = [item.answer for item in answerable]
    chosen = []
    for number, item in enumerate(answerable):
        found = service.retrieve(item.question, AnswerOptions(k=SEARCHED, translate="off"))
        holding = [d for d in found if item.answer in d.page_content]
        if not holding:
            continue
        others = answers[number + 1 :] + answers[:number]
        changed = perturb(item.answer, others)
        passage = Document(
            page_content=holding[0].page_content.replace(item.answer, changed),
            metadata=holding[0].metadata,
        )  # no id: its sentence vectors are computed from the changed text
        chosen.append(Perturbed(item, item.answer, changed, passage))
    return chosen


def faithfulness_rows(service: RagService, cases: Sequence[Perturbed]) -> list[dict]:
    """Ask each question with its perturbed passage as the only one: one row per case."""
    rows = []
    for case in cases:
        only = AnswerOptions(translate="off", kind="lookup", passages=(case.passage,))
        answer = timed_answer(service, case.item.question, only).answer  # a failure stops
        stated = squeeze(case.original) in squeeze(answer.text)
        refused = is_refusal(answer.text)
        rows.append(
            {
                "qid": case.item.qid,
                "language": case.item.language,
                "answer": answer.text,
                "cited_original": stated and bool(answer.cited),
                "refused": refused,
                "follows": not refused and not stated and bool(answer.cited),
            }
        )
    return rows


def summarize_faithfulness(rows: list[dict]) -> dict:
    return {
        "n": len(rows),
        "cited_original": sum(r["cited_original"] for r in rows),
        "follows": rate(rows, "follows"),
        "refused": rate(rows, "refused"),
    }
