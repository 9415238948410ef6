"""Quality gates of the questions beyond one passage (summaries, overviews, comparisons, lists):
the bundled local model, with the product's settings, answers the report split of the kinds QA
sets (tests/data/kinds_*.jsonl) over the seed notes and over the manpages-zh pages, scored by
`evaluation.coverage` as `bench/answer.py --kinds` scores it. To keep CI short, only the first
question of each kind and language is asked (15 questions; summaries and overviews are written
from the outlines without the model). Levels just under those the same questions reached
(docs/guides/questions.md): key-point coverage per kind, no refusal where the notes hold the
material, and no line shown that no passage supports. One service per corpus, over the index
the retrieval, answer and mixed-language gates share (whichever comes first builds it)."""

from pathlib import Path

import pytest

from evaluation.coverage import KindItem, coverage_rows, read_kinds_qa, summarize_coverage
from tests.support.paths import DATA, SEEDS_DIR
from tests.test_answer_quality import local_service

COVERAGE = {
    "seeds": {"summary": 0.9, "overview": 0.5, "comparison": 0.9, "list": 0.4},
    "manpages": {"summary": 0.9, "overview": 0.7, "comparison": 0.6, "list": 0.9},
}
"""Just under the key-point coverage these questions reached, per corpus and kind, in the
report run of 7 December 2026 (seeds: 1.0, 0.6, 1.0, 0.5; manpages: 1.0, 0.8, 0.67, 1.0)."""
REFUSED = {"seeds": 1, "manpages": 0}
"""Questions refused although the notes hold the material: seeds-en-list-02 was in an earlier
run (an English question over Chinese notes whose passages hold none of its items;
docs/quality.md)."""
UNSUPPORTED = {"seeds": 0, "manpages": 0}
"""Lines shown that no passage supports: a comparison's or list's are left out of its text, and
the outline writer's lines are their passages' own words."""


def first_of_each(items: list[KindItem]) -> list[KindItem]:
    """The first question of each kind and language."""
    return list({(item.kind, item.language): item for item in reversed(items)}.values())[::-1]


def _report(indexes: Path, docs: Path, qa: str) -> dict:
    """The summary of the local model's answers to the asked questions of `qa` over `docs`."""
    items = first_of_each(read_kinds_qa(DATA / qa, "report"))
    rows = coverage_rows(local_service(indexes, docs), items)
    return {**summarize_coverage(rows), "rows": rows}


@pytest.fixture(scope="module")
def seeds(quality_indexes: Path) -> dict:
    if not SEEDS_DIR.is_dir():
        pytest.skip(f"../shared/corpus/seeds not found at {SEEDS_DIR}: the seed notes are not here")
    return _report(quality_indexes, SEEDS_DIR, "kinds_seeds.jsonl")


@pytest.fixture(scope="module")
def manpages(quality_indexes: Path, manpages_dir: Path) -> dict:
    return _report(quality_indexes, manpages_dir, "kinds_manpages.jsonl")


def _misses(report: dict, kind: str) -> list[tuple[str, list[str], str]]:
    """(qid, key points missed, answer) of the kind's rows: the assertion's message."""
    return [(r["qid"], r["missed"], r["answer"]) for r in report["rows"] if r["kind"] == kind]


def _gate(report: dict, corpus: str) -> None:
    for kind, summary in report["by_kind"].items():
        assert summary["coverage"] >= COVERAGE[corpus][kind], _misses(report, kind)
    refused = [r["qid"] for r in report["rows"] if r["refused"]]
    assert len(refused) <= REFUSED[corpus], refused
    shown = [r["answer"] for r in report["rows"] if r["unsupported_shown"]]
    assert report["unsupported_shown"] <= UNSUPPORTED[corpus], shown


def test_one_question_of_each_kind_and_language_is_asked():
    items = first_of_each(read_kinds_qa(DATA / "kinds_seeds.jsonl", "report"))
    assert len(items) == 8
    assert {(i.kind, i.language) for i in items} == {
        (kind, language)
        for kind in ("summary", "overview", "comparison", "list")
        for language in ("zh", "en")
    }
    assert items[0].qid == "seeds-zh-summary-02"


@pytest.mark.slow
def test_questions_beyond_one_passage_over_the_seed_notes(seeds):
    _gate(seeds, "seeds")


@pytest.mark.slow
def test_questions_beyond_one_passage_over_the_manual_pages(manpages):
    _gate(manpages, "manpages")
