"""Questions beyond one passage (`chains.kinds`): key-point coverage and citation correctness
on a QA set whose lines name the kind and the key points, copied verbatim from the notes
(tests/data/kinds_*.jsonl). Used by `bench/answer.py --kinds` and the CI gates
(tests/test_kinds_quality.py).

A key point is covered when the answer, or a passage it cites, contains it (NFKC, whitespace
removed: `evaluation.scoring.squeeze`). Citations are correct when every sentence shown is
supported by the passage it cites; of the sentences no passage supports, those shown in the
answer's text (uncited and flagged, as a lookup's are) and those left out of it (a comparison's
or list's lines: `services.answering.LINE_KINDS`) are counted apart. An answer that is the
refusal, where the notes hold the material, is a false refusal.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from chains.kinds import KINDS, Routed
from evaluation.answers import timed_answer
from evaluation.scoring import SPLITS, QAFormatError, squeeze
from services.answering import Answer, RagService
from text.language import is_refusal, question_language


@dataclass(frozen=True)
class KindItem:
    """A question of a known kind and the key points its answer should hold."""

    qid: str
    question: str
    kind: str
    key_points: tuple[str, ...]
    split: str

    @property
    def language(self) -> str:
        return question_language(self.question)


def read_kinds_qa(path: Path, split: str = "all") -> list[KindItem]:
    """The items of a kinds QA file (JSON lines: qid, question, kind, key_points, split) in
    `split` (`all`: every one), naming the line of any problem."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = KindItem(
                row["qid"], row["question"], row["kind"], tuple(row["key_points"]), row["split"]
            )
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise QAFormatError(f"{path}:{number}: not a kinds QA line ({err})") from err
        if item.kind not in KINDS or item.split not in SPLITS or not item.key_points:
            raise QAFormatError(
                f"{path}:{number}: kind must be one of {', '.join(KINDS)}, split one of "
                f"{', '.join(SPLITS)}, and key_points not empty"
            )
        if split in ("all", item.split):
            items.append(item)
    return items


def routing_accuracy(route: Callable[[str], Routed], labelled: list[tuple[str, str]]) -> dict:
    """Share of (question, kind) pairs routed to their kind, overall and per kind, with the
    misses and how many the rules were unsure of."""
    routed = [(question, kind, route(question)) for question, kind in labelled]
    per_kind = {
        kind: _share([r.kind == k for _q, k, r in routed if k == kind])
        for kind in sorted({k for _q, k in labelled})
    }
    return {
        "n": len(routed),
        "accuracy": _share([r.kind == kind for _q, kind, r in routed]),
        "by_kind": per_kind,
        "unsure": sum(not r.sure for _q, _k, r in routed),
        "misses": [(q, kind, r.kind) for q, kind, r in routed if r.kind != kind],
    }


def coverage_rows(service: RagService, items: list[KindItem]) -> list[dict]:
    """Ask every question as the product does (routed, streamed) and score the final answer."""
    rows = []
    for item in items:
        timed = timed_answer(service, item.question)
        answer = timed.answer
        rows.append(
            {
                "qid": item.qid,
                "kind": item.kind,
                "routed": answer.kind,
                "language": item.language,
                **score_coverage(answer, item.key_points),
                "ttft_s": round(timed.ttft_s, 3),
                "answer_s": round(timed.answer_s, 3),
                "passages": len(answer.sources),
                "left_out": answer.left_out,
                "answer": answer.text,
                "unsupported": answer.unsupported,
            }
        )
    return rows


def score_coverage(answer: Answer, key_points: tuple[str, ...]) -> dict:
    """Key points covered by the answer or the passages it cites, and held by the passages
    shown at all (what retrieval reached, the most the answer can cover); refusal; the
    unsupported sentences shown and left out."""
    cited = [squeeze(card.text) for card in answer.sources if card.n in answer.cited]
    held = [squeeze(answer.text), *cited]
    covered = [point for point in key_points if any(squeeze(point) in text for text in held)]
    shown = squeeze("".join(card.text for card in answer.sources))
    text = squeeze(answer.text)
    shown_unsupported = [s for s in answer.unsupported if squeeze(s) in text]
    return {
        "coverage": round(len(covered) / len(key_points), 4),
        "in_passages": round(sum(squeeze(p) in shown for p in key_points) / len(key_points), 4),
        "missed": [point for point in key_points if point not in covered],
        "refused": is_refusal(answer.text),
        "cited": len(answer.cited),
        "unsupported_shown": len(shown_unsupported),
        "unsupported_left_out": len(answer.unsupported) - len(shown_unsupported),
    }


def summarize_coverage(rows: list[dict]) -> dict:
    """Per kind (and per kind and language): coverage, false refusals, routing, speed."""
    by_kind = {}
    for kind in [k for k in KINDS if any(r["kind"] == k for r in rows)]:
        chosen = [r for r in rows if r["kind"] == kind]
        by_kind[kind] = {
            **_summary(chosen),
            "by_language": {
                language: _summary([r for r in chosen if r["language"] == language])
                for language in sorted({r["language"] for r in chosen})
            },
        }
    return {**_summary(rows), "by_kind": by_kind}


def _summary(rows: list[dict]) -> dict:
    return {
        "n": len(rows),
        "coverage": round(statistics.mean(r["coverage"] for r in rows), 4),
        "in_passages": round(statistics.mean(r["in_passages"] for r in rows), 4),
        "false_refusals": _share([r["refused"] for r in rows]),
        "routed_right": _share([r["routed"] == r["kind"] for r in rows]),
        "unsupported_shown": sum(r["unsupported_shown"] for r in rows),
        "unsupported_left_out": sum(r["unsupported_left_out"] for r in rows),
        "answers_citing": _share([r["cited"] > 0 for r in rows]),
        "ttft_p50_s": round(statistics.median(r["ttft_s"] for r in rows), 2),
        "answer_s_p50": round(statistics.median(r["answer_s"] for r in rows), 2),
        "passages_mean": round(statistics.mean(r["passages"] for r in rows), 1),
        "cut": _share([r["left_out"] > 0 for r in rows]),
    }


def _share(flags: list[bool]) -> float:
    return round(sum(flags) / len(flags), 4) if flags else 0.0
