"""Translation quality benchmark: how much a better translation of the question would lift
cross-language retrieval, against the configured local model's own translation, in one run.

    python bench/translation_quality.py                          # seeds en, tune split
    python bench/translation_quality.py --model /path/other.gguf # + another GGUF as translator

Each English question of the tune split of tests/data/seeds_qa_en.jsonl is searched over the
seed notes as the product searches it (hybrid, sentence reranking, k=10, the question and one
translation fused), once per translator: the configured local model (`model`), our own Chinese
translations (`reference`, bench/seeds_en_tune_translations.json, written by hand for this
measurement; tune split only, so no report figure depends on them), and with `--model`, another
GGUF through the same prompt. Printed: hit@1, hit@5 and MRR@10 per translator, and each
translation with the rank of the window holding the answer. JSON:
bench/results/translation_quality.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.answer import use_documents  # noqa: E402
from bench.ingest import RESULTS, SEEDS  # noqa: E402
from bench.translation_policy import translating_service  # noqa: E402
from chains.expansion import QueryTranslator  # noqa: E402
from config import LlamaCppProfile, load_settings  # noqa: E402
from evaluation.scoring import ModeResult, QAItem, evaluate_retrieval, read_qa  # noqa: E402
from llms import build_chat_model  # noqa: E402
from services.answering import AnswerOptions, RagService  # noqa: E402

QA = REPO / "tests" / "data" / "seeds_qa_en.jsonl"
REFERENCE = REPO / "bench" / "seeds_en_tune_translations.json"
"""qid -> our own Chinese translation of each tune-split English question."""
K = 10


def main() -> None:
    args = _parse_args()
    settings = load_settings()
    use_documents(settings, SEEDS)
    service, translator = translating_service(settings)
    items = read_qa(QA, split="tune")
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    by_question = {item.question: reference[item.qid] for item in items}
    translators: dict[str, Callable[[str], list[str]]] = {
        "model": translator.translations,
        "reference": lambda question: [by_question[question]],
    }
    if args.model:
        profile = settings.llm.profiles["local"]
        if not isinstance(profile, LlamaCppProfile):
            sys.exit("--model needs the `local` profile to be a llamacpp one")
        other = QueryTranslator(
            build_chat_model(profile.model_copy(update={"model_path": args.model})),
            translator.language_shares,
            translator.original_weight,
        )
        translators[args.model.stem] = other.translations
    results = {
        name: _measure(service, translator, translate, items)
        for name, translate in translators.items()
    }
    for name, result in results.items():
        print(
            f"{name:<12} hit@1 {result['hit_at_1']:.3f}  hit@5 {result['hit_at_5']:.3f}  "
            f"MRR@10 {result['mrr_at_10']:.3f}  translation p50 {result['translation_ms']} ms"
        )
        for qid, row in result["questions"].items():
            print(f"  {qid} rank {row['rank']}: {row['translation']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "translation_quality.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"-> {out}")


def _measure(
    service: RagService,
    translator: QueryTranslator,
    translate: Callable[[str], list[str]],
    items: list[QAItem],
) -> dict:
    """Ranks of the answer's window when `translate` supplies the question's translation (each
    translated once, timed, before the searches)."""
    translations, times_ms = {}, []
    for item in items:
        started = time.perf_counter()
        translations[item.question] = translate(item.question)
        times_ms.append((time.perf_counter() - started) * 1000)
    own_translations = translator.translations
    translator.translations = lambda question, _policy="always": translations[question]
    try:
        ranked: ModeResult = evaluate_retrieval(
            lambda question: service.retrieve(question, AnswerOptions(k=K, translate="always")),
            items,
            "hybrid+translate",
        )
    finally:
        translator.translations = own_translations
    return {
        "hit_at_1": round(ranked.hit_at(1), 3),
        "hit_at_5": round(ranked.hit_at(5), 3),
        "mrr_at_10": round(ranked.mrr_at(K), 3),
        "translation_ms": round(statistics.median(times_ms)),
        "questions": {
            item.qid: {"rank": ranked.ranks[item.qid], "translation": translations[item.question]}
            for item in items
        },
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="another GGUF to translate with, measured too")
    return parser.parse_args()


if __name__ == "__main__":
    main()
