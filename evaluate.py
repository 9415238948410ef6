"""`python evaluate.py --qa FILE.jsonl`: how well retrieval finds the passages that hold answers.

Builds (or incrementally updates) the index for `--docs`, asks every question of `--split` in
each mode and prints a table per mode: hit@1/3/5, MRR@10, p50/p95 latency, overall and per
question language, and the same without sentence reranking (same run, so the latencies compare).
The last stdout line is one JSON object (a list with `--mode all`); its `by_language` holds the
per-language measures, `no_rerank` the mode without reranking. Translated modes exclude the
translation from the latency: every question is translated (and cached) before timing, and the
translation's own p50/p95 is reported beside. Exit status 1 on a bad QA file or config, 4 when a
`--min-*` threshold is not reached in some question language.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from config import Settings, load_settings
from errors import RagchatError
from evaluation.scoring import (
    SPLITS,
    ModeResult,
    QAFormatError,
    QAItem,
    evaluate_retrieval,
    read_qa,
)
from i18n import N_, _, explain, from_environment, ngettext, use
from index.filters import FILTER_HELP, parse_filters
from llms import LLMError
from services.answering import AnswerOptions, RagService
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB
from text.normalize import normalize_text

MODES = ("dense", "bm25", "hybrid")


@dataclass
class Row:
    """One mode's results: as configured, and without sentence reranking (None when the
    retriever does not rerank); `translation_ms` per question when the mode translates."""

    result: ModeResult
    no_rerank: ModeResult | None
    translation_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        summary = self.result.summary()
        if self.no_rerank is not None:
            summary["no_rerank"] = self.no_rerank.summary()
        if self.translation_ms:
            summary["translation_p50_ms"] = round(statistics.median(self.translation_ms), 2)
            summary["translation_p95_ms"] = round(_p95(self.translation_ms), 2)
        return summary


def main(argv: list[str] | None = None) -> int:
    use(from_environment(os.environ))
    args = _parse_args(argv)
    try:
        items = read_qa(args.qa, split=args.split)
        if not items:
            raise QAFormatError(
                N_("{path}: no questions in the {split} split"), path=args.qa, split=args.split
            )
        hub = ServiceHub(_settings_for(args))
        hub.ingesting.ingest(rebuild=args.rebuild, on_message=_to_stderr)
        service = _service(hub, translate=args.translate)
    except RagchatError as err:
        print(_("error: {message}").format(message=explain(err)), file=sys.stderr)
        return err.exit_code
    rows = [_row(service, items, name, options, args) for name, options in _runs(args, service)]
    for row in rows:
        print(_table(row, args.k))
    summaries = [row.summary() for row in rows]
    print(json.dumps(summaries if len(summaries) > 1 else summaries[0], ensure_ascii=False))
    return 4 if _below_thresholds([row.result for row in rows], args) else 0


def _row(
    service: RagService,
    items: list[QAItem],
    name: str,
    options: AnswerOptions,
    args: argparse.Namespace,
) -> Row:
    """A mode's results with and without reranking; a translating mode's questions are
    translated first, so that neither is timed with the chat model's translation."""
    translating = options.translate == "always" and service.retriever.expand_query is not None
    translation_ms = _translate_all(service, items) if translating else []

    def run(label: str, rerank: bool | None) -> ModeResult:
        search = functools.partial(service.retrieve, options=replace(options, rerank=rerank))
        return evaluate_retrieval(search, items, label, args.match_file)

    reranked = run(name, None)
    plain = run(f"{name} (no rerank)", False) if service.retriever.rerank else None
    return Row(reranked, plain, translation_ms)


def _translate_all(service: RagService, items: list[QAItem]) -> list[float]:
    """Translate every question once (the translator caches it under the normalized question,
    as the retriever asks it) and time each translation."""
    times = []
    for item in items:
        started = time.perf_counter()
        service.retriever.expand_query(normalize_text(item.question), "always")
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _service(hub: ServiceHub, translate: bool) -> RagService:
    """The configured profile's service; it loads the chat model only to translate."""
    translating = translate or hub.settings.retrieval.translate_query == "always"
    service = hub.service(with_model=translating)
    if translating and isinstance(service.models, LLMError):
        warning = _("warning: no query translation ({reason})")
        print(warning.format(reason=explain(service.models)), file=sys.stderr)
    return service


def _runs(args: argparse.Namespace, service: RagService) -> list[tuple[str, AnswerOptions]]:
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
    mode = args.mode or service.retriever.mode
    if translating:
        return [(f"{mode}+translate", AnswerOptions(mode=mode, **translated))]
    return [(mode, AnswerOptions(mode=mode, **plain))]


def _settings_for(args: argparse.Namespace) -> Settings:
    """The settings of the `--kb` knowledge base, pointed at `--docs` and an index of its own
    when given: the evaluation's container is built over them."""
    settings = ServiceHub(load_settings(args.config)).knowledge_bases.settings_for(args.kb)
    if args.docs:
        docs = args.docs.resolve()
        settings.paths.documents = docs
        key = hashlib.sha256(str(docs).encode()).hexdigest()[:10]
        settings.paths.index = settings.paths.index.parent / f"eval-{docs.name}-{key}"
    if args.index:
        settings.paths.index = args.index.resolve()
    return settings


def _table(row: Row, k: int) -> str:
    result = row.result
    questions = ngettext("{count} question", "{count} questions", len(result.ranks))
    lines = [
        _("mode {mode}: {questions}").format(
            mode=result.mode, questions=questions.format(count=len(result.ranks))
        )
    ]
    for plain in (False, True):
        shown = row.no_rerank if plain else result
        if shown is None:
            continue
        suffix = " " + _("(no rerank)") if plain else ""
        lines.append(f"  {_('all') + suffix:<16} {_measures(shown)}")
        for language, part in shown.by_language().items():
            lines.append(f"  {language + suffix:<16} {_measures(part)}")
    if row.translation_ms:
        timing = (
            f"p50 {statistics.median(row.translation_ms):.1f} ms  "
            f"p95 {_p95(row.translation_ms):.1f} ms"
        )
        lines.append(
            "  "
            + _("translation (done before timing, not in p50/p95): {timing}").format(timing=timing)
        )
    failures = result.failures()
    if failures:
        shown = ", ".join(f"{q} ({rank if rank else f'>{k}'})" for q, rank in failures.items())
        lines.append("  " + _("not in top 5 (rank of first hit): {shown}").format(shown=shown))
    return "\n".join(lines)


def _measures(result: ModeResult) -> str:
    m = result.measures()
    return (
        f"n {m['n']:<3} hit@1 {m['hit_at_1']:.3f}  hit@3 {m['hit_at_3']:.3f}  "
        f"hit@5 {m['hit_at_5']:.3f}  MRR@10 {m['mrr_at_10']:.3f}  "
        f"p50 {m['p50_ms']:.1f} ms  p95 {m['p95_ms']:.1f} ms"
    )


def _below_thresholds(results: list[ModeResult], args: argparse.Namespace) -> bool:
    """Whether some question language of some mode is under a `--min-*` threshold (each named
    on stderr)."""
    below = False
    for result in results:
        for language, part in result.by_language().items():
            for name, value, minimum in (
                ("hit@5", part.hit_at(5), args.min_hit_at_5),
                ("MRR@10", part.mrr_at(10), args.min_mrr),
            ):
                if minimum is not None and value < minimum:
                    print(
                        _("{mode} [{language}]: {measure} {value} is below {minimum}").format(
                            mode=result.mode,
                            language=language,
                            measure=name,
                            value=f"{value:.3f}",
                            minimum=minimum,
                        ),
                        file=sys.stderr,
                    )
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
    parser.add_argument(
        "--split",
        choices=[*SPLITS, "all"],
        default="all",
        help="QA items to ask: tune (knobs may be tuned on it), report, or all (default)",
    )
    parser.add_argument("--k", type=int, default=10, help="passages retrieved per question")
    parser.add_argument("--match-file", action="store_true", help="hit must come from `file`")
    parser.add_argument(
        "--filter", action="append", default=[], metavar="KEY=VALUE", help=FILTER_HELP
    )
    parser.add_argument(
        "--min-hit-at-5", type=float, help="exit 4 if hit@5 is lower in any question language"
    )
    parser.add_argument(
        "--min-mrr", type=float, help="exit 4 if MRR@10 is lower in any question language"
    )
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
