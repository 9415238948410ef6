"""Our QA sets stay well formed: every line parses, carries a fixed tune/report split balanced
per language, and every expected answer is really in the document it names (so a quality gate
measures retrieval and answering, not a typo in the data)."""

import functools
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from evaluation.corpora import PYDOCS_HTML, listed_pages
from evaluation.scoring import read_qa, squeeze
from loaders import load_document
from tests.support.paths import DATA, SAMPLE_DIR
from text.language import question_language

# Some sets have formats of their own, checked where they are read: injection_qa.jsonl (a
# document per case, test_injection.py) and kinds_*.jsonl (key points per question,
# test_kinds_*.py).
OTHER_FORMATS = {"injection_qa.jsonl", *(path.name for path in DATA.glob("kinds_*.jsonl"))}
QA_FILES = sorted(path.name for path in DATA.glob("*.jsonl") if path.name not in OTHER_FORMATS)
PYDOCS_LIBRARY = PYDOCS_HTML / "library"
PYDOCS_PAGES = listed_pages(DATA / "pydocs_pages.txt")
SPLITS = {"tune", "report"}


def records(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@functools.cache
def document_text(path: Path) -> str:
    """The squeezed text of a document as ragchat's loader reads it."""
    return squeeze(load_document(path, path.name).page_content)


def needs_pydocs() -> None:
    if not PYDOCS_LIBRARY.is_dir():
        pytest.skip(f"Debian's python3-doc is not installed ({PYDOCS_LIBRARY} not found)")


def test_the_qa_files_are_all_here():
    expected = {"seeds_qa_zh", "seeds_qa_en", "sample_qa", "absent_qa"}
    expected |= {"pydocs_qa", "pydocs_absent_qa", "manpages_qa"}
    assert {f"{stem}.jsonl" for stem in expected} <= set(QA_FILES)


@pytest.mark.parametrize("name", QA_FILES)
def test_a_qa_file_parses_and_only_absent_sets_have_no_answer(name):
    items = read_qa(DATA / name, allow_absent=True)
    assert items
    absent = "absent" in name
    assert all((item.answer is None) == absent for item in items), name


@pytest.mark.parametrize("name", QA_FILES)
def test_every_line_has_a_split_balanced_per_language(name):
    counts: dict[str, Counter] = defaultdict(Counter)
    for record in records(name):
        assert record.get("split") in SPLITS, f"{name} {record['qid']}: no tune/report split"
        counts[question_language(record["question"])][record["split"]] += 1
    for language, split_counts in counts.items():
        assert set(split_counts) == SPLITS, f"{name} {language}: {dict(split_counts)}"
        assert abs(split_counts["tune"] - split_counts["report"]) <= 1, (name, language)


def test_qids_are_unique_across_all_qa_files():
    qids = Counter(record["qid"] for name in QA_FILES for record in records(name))
    assert [qid for qid, count in qids.items() if count > 1] == []


def test_the_absent_set_asks_both_languages_at_least_twenty_times():
    languages = Counter(question_language(r["question"]) for r in records("absent_qa.jsonl"))
    assert languages["zh"] >= 20 and languages["en"] >= 20


def test_pydocs_questions_cover_both_languages_and_many_pages():
    items = records("pydocs_qa.jsonl")
    languages = Counter(question_language(record["question"]) for record in items)
    assert languages["zh"] >= 20 and languages["en"] >= 20
    assert len({record["file"] for record in items}) >= 16


def test_every_pydocs_answer_page_is_in_the_ci_subset():
    listed = set(PYDOCS_PAGES)
    assert len(listed) == len(PYDOCS_PAGES), "pydocs_pages.txt lists a page twice"
    missing = {record["file"] for record in records("pydocs_qa.jsonl")} - listed
    assert missing == set()


def test_the_ci_subset_pages_exist():
    needs_pydocs()
    assert [page for page in PYDOCS_PAGES if not (PYDOCS_LIBRARY / page).is_file()] == []


@pytest.mark.parametrize("record", records("pydocs_qa.jsonl"), ids=lambda record: record["qid"])
def test_a_pydocs_answer_is_in_its_page_and_no_other_page_of_the_subset(record):
    needs_pydocs()
    answer = squeeze(record["answer"])
    assert answer in document_text(PYDOCS_LIBRARY / record["file"])
    elsewhere = [
        page
        for page in PYDOCS_PAGES
        if page != record["file"] and answer in document_text(PYDOCS_LIBRARY / page)
    ]
    assert elsewhere == []


@pytest.mark.parametrize("name", ["seeds_qa_zh.jsonl", "seeds_qa_en.jsonl"])
def test_a_seeds_answer_is_in_its_seed_note(name, seeds_dir):
    for record in records(name):
        assert squeeze(record["answer"]) in document_text(seeds_dir / record["file"]), record["qid"]


def test_a_sample_answer_is_in_its_sample_note():
    for record in records("sample_qa.jsonl"):
        note = SAMPLE_DIR / record["file"]
        assert squeeze(record["answer"]) in document_text(note), record["qid"]


def test_manpages_questions_in_each_language_find_answers_in_passages_of_each_language():
    """The mixed-language gate asks both ways: Chinese and English questions whose answer sits
    in an English passage of a Chinese page, and in a Chinese one, at least ten of each."""
    pairs = Counter(
        (question_language(record["question"]), record["answer_language"])
        for record in records("manpages_qa.jsonl")
    )
    assert set(pairs) == {("zh", "en"), ("zh", "zh"), ("en", "en"), ("en", "zh")}
    assert min(pairs.values()) >= 10, pairs


@pytest.mark.parametrize("record", records("manpages_qa.jsonl"), ids=lambda record: record["qid"])
def test_a_manpages_answer_is_in_its_page_only_and_in_its_language(record, manpages_dir):
    answer = squeeze(record["answer"])
    pages = {path.name: document_text(path) for path in sorted(manpages_dir.iterdir())}
    assert [name for name, text in pages.items() if answer in text] == [record["file"]]
    assert question_language(record["answer"]) == record["answer_language"]
