"""Answer quality gates: the bundled local model, with the product's settings (config.toml),
answers the report split of our QA sets through the service, scored by `evaluation.answers` as
`bench/answer.py` scores it (the final answer: checked citations, refusal where nothing was
supported). The levels must stay at least where they were reached (docs/quality.md), per
question language: containment and citations on answerable questions, refusal on questions no
document answers. The seed notes are answered once for the module, over the index the
retrieval gates use (tests/test_retrieval_quality.py: built by whichever comes first); the tests
read the rates. The python3-doc answers are measured by `bench/answer.py --pydocs`, not here:
CI time."""

from pathlib import Path

import pytest

from config import load_settings
from evaluation.answers import answer_rows, summarize
from evaluation.perturbed import faithfulness_rows, perturbed_set, summarize_faithfulness
from evaluation.scoring import QAItem, read_qa
from services.answering import RagService
from services.container import ServiceHub
from tests.support.paths import DATA, SEEDS_DIR

SEEDS_QA = ["seeds_qa_zh.jsonl", "seeds_qa_en.jsonl", "absent_qa.jsonl"]
REFUSED_WHEN_ABSENT = {"zh": 0.9, "en": 0.9}
"""Just under the levels reached with claim-level support (1.0 each, 10 questions each; the goal
is 0.95); and no absent question may be answered with a citation (cited falsehoods: 0)."""
FOLLOWS_CHANGED_PASSAGE = 0.6
"""Just under the share of perturbed-passage answers that follow the changed passage (0.72 of
29 on the report split; the rest refuse, and none may cite the original fact)."""


EMBEDDING_CACHE = "embedding-cache"
"""The quality indexes' embedding cache (`embedding.cache`): a corpus indexed into both stores
is embedded once."""


def local_service(indexes: Path, docs: Path) -> RagService:
    """The local model's service over `docs` (FAISS index in the shared folder)."""
    settings = load_settings()
    settings.paths.documents = docs.resolve()
    settings.paths.index = indexes / f"{docs.name}-faiss"
    settings.paths.knowledge_bases = indexes / "knowledge_bases"
    settings.paths.history = indexes / "history.sqlite3"
    settings.embedding.cache = indexes / EMBEDDING_CACHE
    hub = ServiceHub(settings)
    hub.ingest(on_message=lambda _: None)
    return hub.service("local")


def report_items(qa_files: list[Path]) -> list[QAItem]:
    return [item for path in qa_files for item in read_qa(path, allow_absent=True, split="report")]


def report_answers(service: RagService, qa_files: list[Path]) -> dict:
    """The per-language summary of the service's answers to the report split of `qa_files`,
    with the rows it came from."""
    rows = answer_rows(service, report_items(qa_files))
    return {**summarize(rows)["by_language"], "rows": rows}


def misses(answers: dict, language: str, answerable: bool, key: str) -> list[tuple[str, str]]:
    """(qid, answer) of the rows in `language` that fail `key`: the assertion's message."""
    return [
        (r["qid"], r["answer"])
        for r in answers["rows"]
        if r["language"] == language and r["answerable"] == answerable and not r[key]
    ]


@pytest.fixture(scope="module")
def seeds_service(quality_indexes: Path) -> RagService:
    if not SEEDS_DIR.is_dir():
        pytest.skip(f"../shared/corpus/seeds not found at {SEEDS_DIR}: the seed notes are not here")
    return local_service(quality_indexes, SEEDS_DIR)


@pytest.fixture(scope="module")
def seeds(seeds_service: RagService) -> dict:
    return report_answers(seeds_service, [DATA / name for name in SEEDS_QA])


@pytest.mark.slow
def test_chinese_answers_over_the_seed_notes(seeds):
    assert seeds["zh"]["containment"] >= 0.9, misses(seeds, "zh", True, "contained")
    assert seeds["zh"]["citations_present"] >= 0.9, misses(seeds, "zh", True, "cited")


@pytest.mark.slow
def test_english_answers_over_the_chinese_seed_notes(seeds):
    assert seeds["en"]["containment"] >= 0.6, misses(seeds, "en", True, "contained")
    assert seeds["en"]["citations_present"] >= 0.8, misses(seeds, "en", True, "cited")


@pytest.mark.slow
@pytest.mark.parametrize("language", ["zh", "en"])
def test_questions_the_seed_notes_do_not_answer_are_refused(seeds, language):
    refused = seeds[language]["refused_when_absent"]
    assert refused >= REFUSED_WHEN_ABSENT[language], misses(seeds, language, False, "refused")
    assert seeds[language]["cited_falsehoods"] == 0, misses(seeds, language, False, "refused")


@pytest.mark.slow
def test_an_answer_never_cites_a_changed_passage_for_the_original_fact(seeds_service):
    """Each answerable report question asked with its answer's passage changed
    (`evaluation.perturbed`): the answer follows the passage or refuses."""
    items = report_items([DATA / name for name in SEEDS_QA[:2]])
    rows = faithfulness_rows(seeds_service, perturbed_set(seeds_service, items))
    assert len(rows) >= 20  # most answers are found verbatim in a window
    assert [(r["qid"], r["answer"]) for r in rows if r["cited_original"]] == []
    assert summarize_faithfulness(rows)["follows"] >= FOLLOWS_CHANGED_PASSAGE
