"""Retrieval quality gates: evaluate.py on the report split of our QA sets must stay at the
levels we reached (docs/quality.md), in every question language, with either vector
store. A change that makes retrieval worse fails here. Each corpus is ingested once per store
for the whole test session into the `quality_indexes` folder (the index is updated
incrementally, so later gates, and the answer gates of tests/test_answer_quality.py, find it
ready)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import StoreSettings
from evaluation.corpora import PYDOCS_HTML, copy_pydocs_pages
from tests.support.paths import DATA, REPO, SAMPLE_DIR
from tests.test_answer_quality import EMBEDDING_CACHE


@pytest.fixture(scope="module")
def pydocs_dir(quality_indexes: Path) -> Path:
    """The python3-doc pages CI indexes, copied into the quality indexes' folder; skips the test
    where Debian's python3-doc is not installed."""
    if not (PYDOCS_HTML / "library").is_dir():
        pytest.skip(
            f"Debian's python3-doc is not installed ({PYDOCS_HTML} not found; `make test` "
            "installs it with apt-get): the python3-doc gates need its library pages"
        )
    return copy_pydocs_pages(DATA / "pydocs_pages.txt", quality_indexes / "pydocs-pages")


def evaluate(indexes: Path, store: StoreSettings, qa: str, docs: Path, *extra: str) -> dict:
    """evaluate.py on the report split of `qa`; its summary (the thresholds in `extra` hold
    in every question language, else the gate fails with evaluate.py's output)."""
    corpus = f"{docs.name}-{store.backend}"
    command = [
        sys.executable,
        str(REPO / "evaluate.py"),
        *("--qa", str(DATA / qa), "--docs", str(docs), "--split", "report"),
        *("--index", str(indexes / corpus), *extra),
    ]
    env = {
        **os.environ,
        "RAGCHAT_STORE__BACKEND": store.backend,
        "RAGCHAT_STORE__URI": str(indexes / f"{corpus}.db"),
        "RAGCHAT_EMBEDDING__CACHE": str(indexes / EMBEDDING_CACHE),  # a corpus is embedded once
    }
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd=indexes, env=env
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_chinese_questions_on_the_seed_notes(quality_indexes, seeds_dir, store):
    evaluate(
        quality_indexes,
        store,
        "seeds_qa_zh.jsonl",
        seeds_dir,
        *("--min-hit-at-5", "0.97", "--min-mrr", "0.95"),
    )


@pytest.mark.slow
def test_english_questions_on_the_seed_notes_with_translation(quality_indexes, seeds_dir, store):
    evaluate(
        quality_indexes,
        store,
        "seeds_qa_en.jsonl",
        seeds_dir,
        *("--translate", "--min-hit-at-5", "0.7", "--min-mrr", "0.7"),
    )


def test_sample_notes_in_both_languages(quality_indexes, store):
    """Three report questions per language: a coarse gate (one miss in Chinese today)."""
    summary = evaluate(
        quality_indexes,
        store,
        "sample_qa.jsonl",
        SAMPLE_DIR,
        *("--translate", "--min-hit-at-5", "0.65", "--min-mrr", "0.55"),
    )
    assert set(summary["by_language"]) == {"zh", "en"}


@pytest.mark.slow
def test_python_docs_in_chinese_and_english(quality_indexes, pydocs_dir, store):
    """Real documentation nobody here wrote: English library pages, questions in English and
    in Chinese (translated)."""
    summary = evaluate(
        quality_indexes,
        store,
        "pydocs_qa.jsonl",
        pydocs_dir,
        *("--translate", "--min-hit-at-5", "0.8", "--min-mrr", "0.5"),
    )
    assert set(summary["by_language"]) == {"zh", "en"}
