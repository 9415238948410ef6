"""evaluate.py's splits and per-language results: the QA files' fixed tune/report split, the
measures per question language, reranking compared in the same run, thresholds per language."""

import json
import subprocess
import sys

import pytest

from evaluation.scoring import SPLITS, ModeResult, QAFormatError, read_qa
from tests.support.paths import REPO, SAMPLE_DIR

DATA = REPO / "tests" / "data"
QA_FILES = sorted(p for p in DATA.glob("*qa*.jsonl") if p.name != "injection_qa.jsonl")


@pytest.mark.parametrize("path", QA_FILES, ids=lambda path: path.name)
def test_the_split_rule_gives_the_committed_splits(path, tmp_path):
    """Without its `split` fields, a file gets the same splits back from the rule."""
    committed = {item.qid: item.split for item in read_qa(path, allow_absent=True)}
    stripped = tmp_path / path.name
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    stripped.write_text(
        "\n".join(json.dumps({k: v for k, v in r.items() if k != "split"}) for r in lines),
        encoding="utf-8",
    )
    assert {item.qid: item.split for item in read_qa(stripped, allow_absent=True)} == committed
    assert set(committed.values()) == set(SPLITS)


def test_a_split_keeps_its_items_and_a_line_field_wins_over_the_rule(tmp_path):
    qa = tmp_path / "qa.jsonl"
    rows = [
        {"qid": "a", "question": "一？", "answer": "1"},
        {"qid": "b", "question": "二？", "answer": "2"},
        {"qid": "c", "question": "One?", "answer": "1"},
        {"qid": "d", "question": "Two?", "answer": "2", "split": "tune"},
    ]
    qa.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert [i.qid for i in read_qa(qa, split="tune")] == ["a", "c", "d"]
    assert [i.qid for i in read_qa(qa, split="report")] == ["b"]
    assert [(i.qid, i.language) for i in read_qa(qa)] == [
        ("a", "zh"),
        ("b", "zh"),
        ("c", "en"),
        ("d", "en"),
    ]


def test_an_unknown_split_is_named(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "q", "answer": "a", "split": "test"}\n')
    with pytest.raises(QAFormatError, match="line 1: split must be one of tune, report"):
        read_qa(qa)


def test_measures_per_question_language():
    result = ModeResult(
        "hybrid",
        ranks={"z1": 1, "z2": 2, "e1": None, "e2": 1},
        latencies_ms={"z1": 10.0, "z2": 20.0, "e1": 30.0, "e2": 40.0},
        languages={"z1": "zh", "z2": "zh", "e1": "en", "e2": "en"},
    )
    summary = result.summary()
    assert summary["hit_at_1"] == 0.5 and summary["mrr_at_10"] == 0.625
    assert summary["by_language"]["zh"] == {
        "n": 2,
        "hit_at_1": 0.5,
        "hit_at_3": 1.0,
        "hit_at_5": 1.0,
        "mrr_at_10": 0.75,
        "p50_ms": 15.0,
        "p95_ms": 20.0,
    }
    assert summary["by_language"]["en"]["hit_at_5"] == 0.5


def test_evaluate_reports_languages_reranking_and_names_the_language_below(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "evaluate.py"),
            *("--qa", str(DATA / "sample_qa.jsonl"), "--docs", str(SAMPLE_DIR)),
            *("--index", str(tmp_path / "index"), "--mode", "hybrid", "--split", "report"),
            *("--min-hit-at-5", "1.01"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 4, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    report = [i for i in read_qa(DATA / "sample_qa.jsonl") if i.split == "report"]
    assert summary["n"] == len(report)
    assert set(summary["by_language"]) == {"zh", "en"}
    plain = summary["no_rerank"]
    assert plain["mode"] == "hybrid (no rerank)" and plain["n"] == len(report)
    assert set(plain["by_language"]) == {"zh", "en"}
    assert "hybrid [zh]: hit@5" in result.stderr and "hybrid [en]: hit@5" in result.stderr
    assert "en (no rerank)" in result.stdout
