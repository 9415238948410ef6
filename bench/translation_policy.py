"""Translation policy benchmark: from which share of a knowledge base's chunks in the other
language translating a question pays (`retrieval.translate_share`), measured, not guessed.

    nice -n 10 python bench/translation_policy.py            # tune split (the default)
    nice -n 10 python bench/translation_policy.py --split report
    python bench/translation_policy.py --replay bench/results/translation_policy-tune.json

One index holds the seed notes (Chinese) and the 31 python3-doc CI pages (English), ingested
once. Mixed knowledge bases are simulated without re-ingesting: each mix is a
`ChunkFilter(sources=...)` (the search sees only its files) and its language shares are counted
over its chunks. Mixes: the seeds with 1, 2, 4, 8, 16 and 31 pages, and the 31 pages with 1, 2
and 3 seed files (all 5: seeds+31p) (smallest first, pages with questions of the split first).

In each mix, only the questions whose answer file is in the mix are asked, in two groups per
question language: cross-language (English questions over the seeds, Chinese questions over the
pages) and same-language (Chinese over the seeds, English over the pages). Each is searched as
the product searches (hybrid, sentence reranking, k=10) without translation (`off`) and with it
(`always`) under several weightings (`VARIANTS`): the question weighted 1 or 0.5 beside its
translation (the weight `auto` gives it when its own language holds less than the threshold),
or the translation counting less. The *target share* of a question is the share of chunks in the
language it would be translated into: what `auto` compares with the threshold. From the rows,
`auto` at each candidate threshold is replayed over all mixes (`_replay`).

Each question is translated once by the configured local model (cached by the translator) and
timed; `--timing-runs` more rounds with fresh translators give the median of medians.
Limits of the simulation: BM25's term statistics are those of the whole index, not of the mix.
Results: bench/results/translation_policy-SPLIT.json.

    nice -n 10 python bench/translation_policy.py --manpages --split tune

`--manpages` measures a real mixed-language manual instead (the manpages-zh pages of
tests/data/manpages_pages.txt, tests/data/manpages_qa.jsonl): hit@5 per question language, and
per language of the passage holding the answer, under each policy (`POLICIES`), with the share
of questions each translated and the median search time (translation included: each policy
gets a translator with an empty cache). Results: bench/results/translation_manpages-SPLIT.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.answer import MANPAGES_PAGES, PYDOCS_PAGES  # noqa: E402
from bench.ingest import CORPORA, RESULTS, SEEDS  # noqa: E402
from chains.expansion import QueryTranslator  # noqa: E402
from chains.injection import screen  # noqa: E402
from chains.retrieval import WeightedQuery  # noqa: E402
from config import Settings, load_settings  # noqa: E402
from evaluation.corpora import PYDOCS_HTML, listed_pages, render_manpages  # noqa: E402
from evaluation.scoring import ModeResult, QAItem, evaluate_retrieval, read_qa  # noqa: E402
from index.filters import ChunkFilter  # noqa: E402
from index.records import chunk_language  # noqa: E402
from services.answering import RagService  # noqa: E402
from services.container import ServiceHub  # noqa: E402
from text.normalize import normalize_text  # noqa: E402

DATA = REPO / "tests" / "data"
K = 10
"""Passages retrieved per question, as `evaluate.py` (hit@5, MRR@10)."""
PAGE_COUNTS = (1, 2, 4, 8, 16, 31)
SEED_COUNTS = (1, 2, 3)
"""(5 seed files with the 31 pages is the mix seeds+31p.)"""
VARIANTS = {
    "off": None,
    "always_w1": (1.0, 1.0),
    "always_w05": (0.5, 1.0),
    "always_t05": (1.0, 0.5),
    "always_t025": (1.0, 0.25),
}
"""Searches per question: no translation, or (weight of the question, weight of its
translation): the product's two weightings, and the translation counting less."""
BOTH = ("always_w1", "always_t05", "always_t025")
"""Weightings replayed for questions whose own language is substantial too."""
THRESHOLDS = (0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
POLICIES = ("off", "auto", "per_question", "always")
"""`retrieval.translate_query` values compared on the manual (`--manpages`)."""


@dataclass(frozen=True)
class Mix:
    name: str
    sources: frozenset[str]


def main() -> None:
    args = _parse_args()
    if args.replay:
        rows = json.loads(args.replay.read_text(encoding="utf-8"))["rows"]
        print(_replay_table(_replays(rows)))
        return
    if args.manpages:
        _manpages(args.split)
        return
    settings = load_settings()
    settings.paths.documents = _corpus(CORPORA / "translation-policy")
    settings.paths.index = REPO / ".ragchat" / "bench-translation-policy"
    service, translator = translating_service(settings)
    counts = _language_counts(service)
    items = _items(args.split)
    translation_ms = _translate(service, translator, items, args.timing_runs)
    rows = []
    for mix in _mixes(counts, items):
        shares = _shares(counts, mix.sources)
        asked = [item for item in items if item.file in mix.sources]
        for language in ("en", "zh"):
            group = [item for item in asked if item.language == language]
            rows.append(_row(service, translator, mix, shares, language, group))
            print(_line(rows[-1]), flush=True)
    result = {
        "split": args.split,
        "translation_ms": translation_ms,
        "rows": rows,
        "thresholds": [_replay(rows, threshold, both) for both in BOTH for threshold in THRESHOLDS],
    }
    print(_replay_table(result["thresholds"]))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"translation_policy-{args.split}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print(f"translation: {translation_ms}\n-> {out}")


def translating_service(settings: Settings) -> tuple[RagService, QueryTranslator]:
    """The configured profile's service over the settings' documents (ingested first) and its
    query translator; exits when the chat model that translates is not available."""
    hub = ServiceHub(settings)
    hub.ingest(on_message=lambda _: None)
    service = hub.service()
    translator = service.retriever.expand_query
    if not isinstance(translator, QueryTranslator):
        sys.exit(f"no translator: the chat model is not available ({service.models})")
    return service, translator


def manpages_service() -> tuple[RagService, QueryTranslator]:
    """`translating_service` over the manpages-zh pages of tests/data/manpages_pages.txt
    (rendered and ingested once, then kept in .ragchat/bench-translation-manpages)."""
    settings = load_settings()
    settings.paths.documents = render_manpages(MANPAGES_PAGES, CORPORA / "manpages")
    settings.paths.index = REPO / ".ragchat" / "bench-translation-manpages"
    return translating_service(settings)


def _manpages(split: str) -> None:
    """`--manpages` (see the module): one row per policy, printed and saved."""
    service, translator = manpages_service()
    qa = DATA / "manpages_qa.jsonl"
    items = read_qa(qa, split=split)
    passages = {r["qid"]: r["answer_language"] for r in map(json.loads, qa.open(encoding="utf-8"))}
    rows = []
    for policy in POLICIES:
        fresh = QueryTranslator(
            service.models.helper,
            translator.language_shares,
            translator.original_weight,
            policy=policy,
            substantial=translator.substantial,
        )
        update = {"expand_query": fresh, "expand_after": fresh.after_search}
        result = evaluate_retrieval(_search(service, update, ChunkFilter()), items, policy)
        groups = {
            f"{language} q, {passage} passage": ModeResult(
                policy, {q: r for q, r in part.ranks.items() if passages[q] == passage}
            ).hit_at(5)
            for language, part in result.by_language().items()
            for passage in ("en", "zh")
        }
        rows.append(
            {
                "policy": policy,
                **{language: _measures(part) for language, part in result.by_language().items()},
                "by_passage_language": {name: round(hit, 4) for name, hit in groups.items()},
                "translated_share": round(fresh.asked / len(items), 3),
                "p50_ms": round(statistics.median(result.latencies_ms.values()), 1),
                "ranks": result.ranks,
            }
        )
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "ranks"}), flush=True)
    out = RESULTS / f"translation_manpages-{split}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    shares = service.knowledge_base.language_shares
    out.write_text(json.dumps({"split": split, "shares": shares, "rows": rows}, indent=1))
    print(f"language shares {shares}\n-> {out}")


def _corpus(target: Path) -> Path:
    """One flat folder holding the seed notes and the CI pages (file names as sources)."""
    target.mkdir(parents=True, exist_ok=True)
    pages = [PYDOCS_HTML / "library" / name for name in listed_pages(PYDOCS_PAGES)]
    for path in [*sorted(SEEDS.iterdir()), *pages]:
        if not (target / path.name).is_file():
            shutil.copyfile(path, target / path.name)
    return target


def _language_counts(service: RagService) -> dict[str, Counter[str]]:
    """Chunks per language of each file, from the language each chunk got at ingest."""
    counts: dict[str, Counter[str]] = {}
    for document in service.knowledge_base.documents():
        source = document.metadata["source"]
        language = chunk_language(document.metadata, document.page_content)
        counts.setdefault(source, Counter())[language] += 1
    return counts


def _shares(counts: dict[str, Counter[str]], sources: frozenset[str]) -> dict[str, float]:
    """The language shares a knowledge base of these files would have."""
    total = sum((counts[source] for source in sources), Counter())
    return {language: n / total.total() for language, n in total.items()}


def _items(split: str) -> list[QAItem]:
    files = ("seeds_qa_en.jsonl", "seeds_qa_zh.jsonl", "pydocs_qa.jsonl")
    return [item for name in files for item in read_qa(DATA / name, split=split)]


def _mixes(counts: dict[str, Counter[str]], items: list[QAItem]) -> list[Mix]:
    """Seeds + pages and pages + seed files, each list smallest first, files with questions of
    the split before the others (so small mixes still ask about their pages)."""
    asked = {item.file for item in items}

    def order(names: list[str]) -> list[str]:
        return sorted(names, key=lambda n: (n not in asked, counts[n].total(), n))

    seeds = order([n for n in counts if n.endswith(".txt")])
    pages = order([n for n in counts if n.endswith(".html")])
    mixes = [Mix(f"seeds+{n}p", frozenset(seeds + pages[:n])) for n in PAGE_COUNTS]
    return mixes + [Mix(f"{len(pages)}p+{n}s", frozenset(pages + seeds[:n])) for n in SEED_COUNTS]


def _translate(
    service: RagService, translator: QueryTranslator, items: list[QAItem], runs: int
) -> dict:
    """Translate every question (cached for the searches), timed; `runs` - 1 more rounds with
    fresh translators of the same model. The median over questions, per round."""
    rounds = [_timed(translator, items)]
    for _ in range(runs - 1):
        rounds.append(_timed(QueryTranslator(service.models.helper), items))
    medians = [round(statistics.median(times), 1) for times in rounds]
    return {"median_ms_per_run": medians, "median_ms": statistics.median(medians)}


def _timed(translator: QueryTranslator, items: list[QAItem]) -> list[float]:
    times = []
    for item in items:
        started = time.perf_counter()
        translator.translations(normalize_text(item.question), "always")
        times.append((time.perf_counter() - started) * 1000)
    return times


def _row(
    service: RagService,
    translator: QueryTranslator,
    mix: Mix,
    shares: dict[str, float],
    language: str,
    items: list[QAItem],
) -> dict:
    """One mix's questions in one language: hit@5 and MRR@10 per variant, cross and same."""
    target = "zh" if language == "en" else "en"
    row = {
        "mix": mix.name,
        "language": language,
        "target_share": round(shares.get(target, 0.0), 4),
        "own_share": round(shares.get(language, 0.0), 4),
    }
    allowed = ChunkFilter(sources=mix.sources)
    for group in ("cross", "same"):
        chosen = [item for item in items if _is_cross(item) == (group == "cross")]
        row[group] = {"n": len(chosen)}
        for name, weights in VARIANTS.items():
            if not chosen:
                continue
            search = _search(service, {"expand_query": _expansion(translator, weights)}, allowed)
            result = evaluate_retrieval(search, chosen, name)
            row[group][name] = _measures(result)
            row[group][name]["ranks"] = result.ranks
    return row


def _is_cross(item: QAItem) -> bool:
    """The answer is in a file of the other language (seed notes are Chinese, pages English)."""
    return (item.file or "").endswith(".txt") != (item.language == "zh")


def _expansion(
    translator: QueryTranslator, weights: tuple[float, float] | None
) -> Callable[[str, object], list[WeightedQuery]] | None:
    """The phrasings to search: the question alone (None), or the question and its cached
    translation with these weights."""
    if weights is None:
        return None
    own, translated = weights
    return lambda question, _policy: (
        [(question, own)]
        + [(text, translated) for text in translator.translations(question, "always")]
    )


def _search(service: RagService, update: dict, allowed: ChunkFilter) -> Callable[[str], list]:
    """`RagService.retrieve` with these retriever fields (the expansion) replaced, restricted
    to the mix's files."""
    retriever = service.retriever.model_copy(update=update)
    return lambda question: screen(
        retriever.invoke(question, k=K, filter=allowed), service.instruction_policy
    )[:K]


def _measures(result: ModeResult) -> dict:
    return {"hit_at_5": round(result.hit_at(5), 4), "mrr_at_10": round(result.mrr_at(10), 4)}


def _replays(rows: list[dict]) -> list[dict]:
    available = {name for row in rows for group in ("cross", "same") for name in row[group]}
    return [
        _replay(rows, threshold, both)
        for both in BOTH
        if both in available
        for threshold in THRESHOLDS
    ]


def _replay(rows: list[dict], threshold: float, both: str) -> dict:
    """`auto` at this threshold over every row: no translation below it (target share), and
    above it the `both` variant when the question's own language is substantial too, else the
    question weighted 0.5; hits and MRR summed over the questions of all rows, and the expected
    hit@5 of a question whose answer lies in the target language with probability = the target
    share (questions following the content), averaged over the mixes."""
    totals = {group: {"n": 0, "hits": 0, "rr": 0.0} for group in ("cross", "same")}
    expected = []
    for row in rows:
        own = both if row["own_share"] >= threshold else "always_w05"
        variant = own if row["target_share"] >= threshold else "off"
        for group, total in totals.items():
            ranks = row[group].get(variant, {}).get("ranks", {})
            total["n"] += len(ranks)
            total["hits"] += sum(1 for r in ranks.values() if r is not None and r <= 5)
            total["rr"] += sum(1 / r for r in ranks.values() if r is not None and r <= K)
        if row["cross"]["n"] and row["same"]["n"]:
            share = row["target_share"]
            hits = [row[group][variant]["hit_at_5"] for group in ("cross", "same")]
            expected.append(share * hits[0] + (1 - share) * hits[1])
    return {
        "threshold": threshold,
        "both": both,
        **{
            f"{group}_{name}": round(value / max(total["n"], 1), 4)
            for group, total in totals.items()
            for name, value in (("hit_at_5", total["hits"]), ("mrr_at_10", total["rr"]))
        },
        "n": {group: total["n"] for group, total in totals.items()},
        "expected_hit_at_5": round(statistics.mean(expected), 4) if expected else None,
    }


def _line(row: dict) -> str:
    """A row of the table: shares, then hit@5 / MRR per group and variant (`VARIANTS`)."""
    cells = [f"{row['mix']:<10} {row['language']} target {row['target_share']:.3f}"]
    for group in ("cross", "same"):
        part = row[group]
        if part["n"] == 0:
            cells.append(f"{group} n 0")
            continue
        numbers = " / ".join(
            f"{part[v]['hit_at_5']:.2f} {part[v]['mrr_at_10']:.2f}" for v in VARIANTS
        )
        cells.append(f"{group} n {part['n']:>2}: {numbers}")
    return "  |  ".join(cells)


def _replay_table(replays: list[dict]) -> str:
    lines = ["auto at threshold t (all mixes): cross hit@5 MRR | same hit@5 MRR | expected hit@5"]
    for r in replays:
        cross = f"{r['cross_hit_at_5']:.3f} {r['cross_mrr_at_10']:.3f}"
        same = f"{r['same_hit_at_5']:.3f} {r['same_mrr_at_10']:.3f}"
        expected = f"{r['expected_hit_at_5']:.3f}"
        lines.append(f"  {r['both']:<12} t {r['threshold']:.2f}: {cross} | {same} | {expected}")
    return "\n".join(lines)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["tune", "report"], default="tune")
    parser.add_argument(
        "--replay", type=Path, help="only replay the thresholds over the rows of a results file"
    )
    parser.add_argument(
        "--timing-runs", type=int, default=3, help="rounds of translation timing (default 3)"
    )
    parser.add_argument(
        "--manpages", action="store_true", help="each policy on the manpages-zh manual instead"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
