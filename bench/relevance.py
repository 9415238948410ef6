"""Relevance benchmark: the floor under which the model is not asked (`retrieval.
answer_similarity`), measured on how close the passages shown come to each question.

    python bench/relevance.py                      # seeds QA + absent questions, tune split
    python bench/relevance.py --split report       # once, at the end: the reporting split
    python bench/relevance.py --pydocs             # python3-doc QA over the CI pages

For every question of the split, the passages the model would be shown (`RagService.passages`,
product defaults: translation, reranking, the context budget) and the closest of their sentences
to the question or its translation (the reranker's `sentence_score`); whether those passages
hold the expected answer. Then, per floor and question language: the questions no note answers
that the floor refuses (`absent_refused`), and the answerable ones it would refuse although the
passages shown hold their answer (`answer_lost`) or do not (`miss_refused`: the model could not
have answered them from these passages anyway). Floors are tuned on the `tune` split only.
Results: bench/results/relevance-CORPUS-SPLIT.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.answer import ABSENT, PYDOCS_QA, QA_FILES, SEEDS, pydocs_pages  # noqa: E402
from config import load_settings  # noqa: E402
from evaluation.scoring import SPLITS, read_qa, squeeze  # noqa: E402
from services.container import ServiceHub  # noqa: E402
from text.language import question_language  # noqa: E402

FLOORS = [0.80, 0.82, 0.83, 0.84, 0.85, 0.86, 0.87, 0.88]
MEASURES = (
    ("absent_refused", False, None),
    ("answer_lost", True, True),
    ("miss_refused", True, False),
)
"""(name, answerable, whether the passages shown hold the answer; None: either) of the kinds
of question counted per floor (see the module)."""
RESULTS = REPO / "bench" / "results"


def main() -> None:
    args = _parse_args()
    docs = pydocs_pages() if args.pydocs else SEEDS
    qa_files = PYDOCS_QA if args.pydocs else [*QA_FILES, ABSENT]
    settings = load_settings()
    settings.paths.documents = docs
    settings.paths.index = REPO / ".ragchat" / f"bench-relevance-{docs.name}"
    hub = ServiceHub(settings)
    hub.ingest(on_message=lambda _: None)
    service = hub.service()
    rows = []
    for item in [i for path in qa_files for i in read_qa(path, True, args.split)]:
        shown = service.passages(item.question)
        scores = [d.metadata.get("sentence_score", 0.0) for d in shown]
        holds = item.answer is not None and any(
            squeeze(item.answer) in squeeze(d.page_content) for d in shown
        )
        rows.append(
            {
                "qid": item.qid,
                "language": question_language(item.question),
                "answerable": item.answer is not None,
                "shown_holds_answer": holds,
                "closest": round(max(scores, default=0.0), 4),
            }
        )
        print(f"{item.qid:<16} closest {rows[-1]['closest']:.3f}  holds {holds}", flush=True)
    table = {f"{floor:.2f}": _rates(rows, floor) for floor in FLOORS}
    print(f"{'floor':<7}" + "".join(f"{name:>22}" for name, _, _ in MEASURES))
    for floor, result in table.items():
        print(f"{floor:<7}" + "".join(f"{result[name]:>22}" for name, _, _ in MEASURES))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"relevance-{docs.name}-{args.split}.json"
    out.write_text(json.dumps({"rows": rows, "floors": table}, ensure_ascii=False, indent=1))
    print(f"-> {out}")


def _rates(rows: list[dict], floor: float) -> dict[str, str]:
    """Per measure, 'zh a/b, en c/d': how many questions of each kind the floor refuses."""

    def count(language: str, answerable: bool, holds: bool | None) -> str:
        kind = [
            r
            for r in rows
            if r["language"] == language
            and r["answerable"] == answerable
            and (holds is None or r["shown_holds_answer"] == holds)
        ]
        refused = sum(1 for r in kind if r["closest"] < floor)
        return f"{language} {refused}/{len(kind)}"

    return {
        name: ", ".join(count(language, answerable, holds) for language in ("zh", "en"))
        for name, answerable, holds in MEASURES
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="tune")
    parser.add_argument(
        "--pydocs", action="store_true", help="python3-doc QA over the CI pages (else seeds)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
