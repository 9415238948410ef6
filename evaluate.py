"""`python evaluate.py --qa FILE.jsonl`: how well retrieval finds the passages that hold answers.

Builds (or incrementally updates) the index for `--docs`, asks every question in each mode and
prints a table per mode; the last stdout line is one JSON object (a list with `--mode all`).
Exit status 1 on a bad QA file or config, 4 when a `--min-*` threshold is not reached.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
from pathlib import Path

from chains.evaluation import ModeResult, QAFormatError, evaluate_retrieval, read_qa
from chains.filters import FILTER_HELP, parse_filters
from chains.service import AnswerOptions, RagService, ServiceHub
from config import ConfigError, Settings, load_settings
from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog, KnowledgeBaseError
from index.embeddings import EmbeddingBackendError
from index.store import IndexStoreError
from llms import LLMError

MODES = ("dense", "bm25", "hybrid")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        items = read_qa(args.qa)
        hub = ServiceHub(_settings_for(args))
        hub.ingest(rebuild=args.rebuild, on_message=_to_stderr)
        service = _service(hub, translate=args.translate)
    except (
        QAFormatError,
        ConfigError,
        KnowledgeBaseError,
        EmbeddingBackendError,
        IndexStoreError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    results = []
    for name, options in _runs(args, hub.settings, service):
        search = functools.partial(service.retrieve, options=options)
        results.append(evaluate_retrieval(search, items, name, args.match_file))
    for result in results:
        print(_table(result, args.k))
    summaries = [result.summary() for result in results]
    print(json.dumps(summaries if len(summaries) > 1 else summaries[0], ensure_ascii=False))
    return 4 if _below_thresholds(results, args) else 0


def _service(hub: ServiceHub, translate: bool) -> RagService:
    """The configured profile's service; it loads the chat model only to translate."""
    translating = translate or hub.settings.retrieval.translate_query == "always"
    service = hub.service(with_model=translating)
    if translating and isinstance(service.models, LLMError):
        print(f"warning: no query translation ({service.models})", file=sys.stderr)
    return service


def _runs(
    args: argparse.Namespace, settings: Settings, service: RagService
) -> list[tuple[str, AnswerOptions]]:
    """(name, retrieval options) for each row of the report. With --translate (or
    `translate_query = "always"`), every question is translated: `all` adds hybrid+translate
    beside the plain modes; a single mode runs translated only."""
    translating = service.chain is not None
    plain = {"k": args.k, "translate": "off", "filter": args.filter}
    translated = {"k": args.k, "translate": "always", "filter": args.filter}
    if args.mode == "all":
        runs = [(mode, AnswerOptions(mode=mode, **plain)) for mode in MODES]
        extra = ("hybrid+translate", AnswerOptions(mode="hybrid", **translated))
        return runs + ([extra] if translating else [])
    mode = args.mode or settings.retrieval.mode
    if translating:
        return [(f"{mode}+translate", AnswerOptions(mode=mode, **translated))]
    return [(mode, AnswerOptions(mode=mode, **plain))]


def _settings_for(args: argparse.Namespace) -> Settings:
    """The settings of the `--kb` knowledge base, pointed at `--docs` and an index of its own
    when given."""
    settings = KnowledgeBaseCatalog(load_settings(args.config)).settings_for(args.kb)
    if args.docs:
        docs = args.docs.resolve()
        settings.paths.documents = docs
        key = hashlib.sha256(str(docs).encode()).hexdigest()[:10]
        settings.paths.index = settings.paths.index.parent / f"eval-{docs.name}-{key}"
    if args.index:
        settings.paths.index = args.index.resolve()
    return settings


def _table(result: ModeResult, k: int) -> str:
    summary = result.summary()
    lines = [
        f"mode {result.mode}: {summary['n']} questions",
        f"  hit@1 {summary['hit_at_1']:.3f}  hit@3 {summary['hit_at_3']:.3f}  "
        f"hit@5 {summary['hit_at_5']:.3f}  MRR@10 {summary['mrr_at_10']:.3f}  "
        f"p50 {summary['p50_ms']:.1f} ms  p95 {summary['p95_ms']:.1f} ms",
    ]
    failures = result.failures()
    if failures:
        shown = ", ".join(f"{q} ({rank if rank else f'>{k}'})" for q, rank in failures.items())
        lines.append(f"  not in top 5 (rank of first hit): {shown}")
    return "\n".join(lines)


def _below_thresholds(results: list[ModeResult], args: argparse.Namespace) -> bool:
    below = False
    for result in results:
        for name, value, minimum in (
            ("hit@5", result.hit_at(5), args.min_hit_at_5),
            ("MRR@10", result.mrr_at(10), args.min_mrr),
        ):
            if minimum is not None and value < minimum:
                print(f"{result.mode}: {name} {value:.3f} is below {minimum}", file=sys.stderr)
                below = True
    return below


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    parser.add_argument(
        "--qa", type=Path, required=True, help="JSONL: qid, question, answer, file?"
    )
    parser.add_argument(
        "--kb", default=DEFAULT_KB, help=f"knowledge base to evaluate (default: {DEFAULT_KB})"
    )
    parser.add_argument("--docs", type=Path, help="documents folder (default: configured one)")
    parser.add_argument("--index", type=Path, help="index folder (default: one per --docs)")
    parser.add_argument("--mode", choices=[*MODES, "all"], help="default: retrieval.mode")
    parser.add_argument("--k", type=int, default=10, help="passages retrieved per question")
    parser.add_argument("--match-file", action="store_true", help="hit must come from `file`")
    parser.add_argument(
        "--filter", action="append", default=[], metavar="KEY=VALUE", help=FILTER_HELP
    )
    parser.add_argument("--min-hit-at-5", type=float, help="exit 4 if hit@5 is lower")
    parser.add_argument("--min-mrr", type=float, help="exit 4 if MRR@10 is lower")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the index first")
    parser.add_argument(
        "--translate",
        action="store_true",
        help="also search the LLM's translation of every question",
    )
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    args = parser.parse_args(argv)
    try:
        args.filter = parse_filters(args.filter)
    except ValueError as err:
        parser.error(str(err))
    return args


if __name__ == "__main__":
    sys.exit(main())
