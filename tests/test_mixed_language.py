"""Mixed-language gate: over the manpages-zh pages (Chinese translations that keep options,
commands and whole passages in English), the report split of tests/data/manpages_qa.jsonl,
asked in Chinese and in English, finds the window holding each answer in the first 5 with the
default settings (translation `auto`, a question naming a page searched within it too, and
the entry of an option it writes), in both question languages (docs/quality.md). The bundled
local model translates; the index is the one the kinds gate over the same pages uses
(tests/test_kinds_quality.py: whichever comes first builds it)."""

from pathlib import Path

import pytest

from evaluation.scoring import ModeResult, evaluate_retrieval, read_qa
from services.answering import AnswerOptions
from tests.support.paths import DATA
from tests.test_answer_quality import local_service

HIT_AT_5 = {"zh": 0.95, "en": 0.875}
"""Just under the hit@5 reached on the report split per question language (2026-12-07, 24
questions each, `option_weight` 3: zh 1.000, en 0.917; the goal is 0.90 in both): one
question of either language may slip."""


@pytest.fixture(scope="module")
def searched(quality_indexes: Path, manpages_dir: Path) -> ModeResult:
    """The report split searched as the service searches (hybrid, reranked, 10 passages)."""
    service = local_service(quality_indexes, manpages_dir)
    options = AnswerOptions(k=10)
    items = read_qa(DATA / "manpages_qa.jsonl", split="report")
    return evaluate_retrieval(lambda q: service.retrieve(q, options), items, "default")


@pytest.mark.slow
@pytest.mark.parametrize("language", ["zh", "en"])
def test_questions_in_either_language_find_their_window_in_a_mixed_manual(searched, language):
    part = searched.only(language)
    assert part.hit_at(5) >= HIT_AT_5[language], part.failures()
