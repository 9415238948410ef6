"""`finetune.py eval`: base model and fine-tuned model on the same held-out examples, scored
with the answer benchmark's measures (containment, citations, refusal where the passages lack
the answer)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel

from chains.rag import STOP
from evaluation.scoring import rate, score_answer
from finetune.data import Example


def answer_examples(llm: BaseChatModel, examples: Sequence[Example]) -> list[dict]:
    """One scored row per example: the model answers the example's prompt."""
    rows = []
    for example in examples:
        started = time.perf_counter()
        text = str(llm.invoke(example.prompt, stop=STOP).content)
        seconds = time.perf_counter() - started
        sources = [Document(page_content=p, metadata={"source": ""}) for p in example.passages]
        score = score_answer(text, sources, example.expected)
        rows.append(
            {
                "qid": example.qid,
                "kind": example.kind,
                "seconds": round(seconds, 2),
                **score.row(),
            }
        )
    return rows


def summarize(rows: list[dict]) -> dict:
    """Rates over the rows: containment over answerable examples, refusal over the others."""
    answerable = [r for r in rows if r["kind"] != "refusal"]
    lacking = [r for r in rows if r["kind"] == "refusal"]
    return {
        "n": len(rows),
        "correct": rate(rows, "correct"),
        "containment": rate(answerable, "contained"),
        "citations_present": rate(answerable, "cited"),
        "model_wrote_citations": rate(answerable, "model_cited"),
        "refusal_when_lacking": rate(lacking, "refused"),
        "false_refusals": rate(answerable, "refused"),
        "seconds_p50": round(statistics.median(r["seconds"] for r in rows), 2) if rows else None,
    }


def format_table(summaries: dict[str, dict]) -> str:
    """The summaries side by side, one measure per line."""
    names = list(summaries)
    measures = list(next(iter(summaries.values())))
    lines = [f"{'':24}" + "".join(f"{name:>16}" for name in names)]
    for measure in measures:
        cells = "".join(f"{_cell(summaries[name][measure]):>16}" for name in names)
        lines.append(f"{measure:24}{cells}")
    return "\n".join(lines)


def _cell(value: object) -> str:
    return "-" if value is None else str(value)
