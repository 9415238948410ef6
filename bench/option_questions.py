"""Questions about an option of a named manual page ("What does tar -i do?", 「sort 的 -k 选项有什么
作用？」): where the window holding the option's entry ranks, per `retrieval.option_weight`, in
the product's order and in the fused order (without sentence reranking).

    nice -n 10 python bench/option_questions.py                  # weights 0, 1, 2, 3, 5
    nice -n 10 python bench/option_questions.py --weights 1,3

The questions are made from the manpages-zh pages of tests/data/manpages_pages.txt: one per
option entry (a line starting `-x` or `-x, --long`) whose first line of description is in no
other page, that line being the expected answer; alternately in Chinese and English, in an
order shuffled with a fixed seed. An option that a report question of
tests/data/manpages_qa.jsonl asks about is left out, so that this set can tune without looking
at the report split. Each question is searched as the product searches (default settings,
`auto` translation, k=10), and again with `rerank=False`.
Results: bench/results/option_questions.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

from langchain_core.documents import Document

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.ingest import CORPORA, RESULTS  # noqa: E402
from bench.translation_policy import DATA, manpages_service  # noqa: E402
from chains.naming import document_name, options_in  # noqa: E402
from chains.retrieval import HybridRetriever  # noqa: E402
from evaluation.scoring import (  # noqa: E402
    ModeResult,
    QAItem,
    evaluate_retrieval,
    read_qa,
    squeeze,
)

ENTRY = re.compile(r"^[ \t]+(-[A-Za-z0-9])(?:,\s*(--[A-Za-z0-9][\w-]*))?", re.MULTILINE)
"""An option's entry in a rendered page: `-i, --ignore-zeros` (the short option is asked)."""
SHORTEST_ANSWER = 12
"""Characters (squeezed) an expected answer needs, so that it names one entry."""
K = 10


def main() -> None:
    args = _parse_args()
    service, _translator = manpages_service()
    items = option_questions(CORPORA / "manpages", _report_options())
    print(f"{len(items)} questions", flush=True)
    rows = []
    for weight in args.weights:
        retriever = service.retriever.model_copy(update={"option_weight": weight})
        row: dict = {"option_weight": weight}
        for name, search in _searches(retriever).items():
            row.update(_measures(evaluate_retrieval(search, items, name), name))
        rows.append(row)
        print(json.dumps(row), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "option_questions.json"
    out.write_text(json.dumps({"questions": len(items), "rows": rows}, indent=1))
    print(f"-> {out}")


def option_questions(pages: Path, left_out: set[tuple[str, str]]) -> list[QAItem]:
    """One question per option entry of the pages (see the module), `left_out` being the
    (page, option) pairs not to ask about."""
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(pages.glob("*.txt"))}
    squeezed = {name: squeeze(text) for name, text in texts.items()}
    entries = []
    for name, text in texts.items():
        lines = text.splitlines()
        for number, line in enumerate(lines):
            entry = ENTRY.match(line)
            if entry is None or {(name, o) for o in entry.groups() if o} & left_out:
                continue
            answer = next((t.strip() for t in lines[number + 1 : number + 3] if t.strip()), "")
            found = squeeze(answer)
            unique = sum(found in page for page in squeezed.values()) == 1
            if len(found) >= SHORTEST_ANSWER and unique and not ENTRY.match(f" {answer}"):
                entries.append((name, entry.group(1), answer))
    random.Random(7).shuffle(entries)
    return [
        QAItem(f"option-{number:03d}", _question(document_name(name), option, number), answer, name)
        for number, (name, option, answer) in enumerate(entries)
    ]


def _question(command: str, option: str, number: int) -> str:
    if number % 2:
        return f"What does {command} {option} do?"
    return f"{command} 的 {option} 选项有什么作用？"


def _report_options() -> set[tuple[str, str]]:
    """(page, option) of every report question of the manual's QA set."""
    report = read_qa(DATA / "manpages_qa.jsonl", split="report")
    return {(item.file, option) for item in report for option in options_in(item.question)}


def _searches(retriever: HybridRetriever) -> dict[str, Callable[[str], list[Document]]]:
    """The product's search, and the same in the fused order (no sentence reranking)."""
    return {
        "product": lambda question: retriever.invoke(question, k=K),
        "fused": lambda question: retriever.invoke(question, k=K, rerank=False),
    }


def _measures(result: ModeResult, name: str) -> dict:
    return {
        f"{name} {language}": {
            "hit@1": round(part.hit_at(1), 3),
            "hit@5": round(part.hit_at(5), 3),
            "mrr@10": round(part.mrr_at(10), 3),
        }
        for language, part in result.by_language().items()
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--weights",
        type=lambda text: [float(w) for w in text.split(",")],
        default=[0.0, 1.0, 2.0, 3.0, 5.0],
        help="the option_weight values to compare (default 0,1,2,3,5)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
