"""Answer benchmark: the whole RAG chain on a QA set, per chat-model backend, in one run.

    python bench/answer.py                                  # seeds QA (zh + en), local model
    python bench/answer.py --pydocs                         # python3-doc QA over the CI pages
    python bench/answer.py --server                         # + openai backend on a local server
    python bench/answer.py --transformers                   # + transformers backend (float32)
    python bench/answer.py --qa tests/data/sample_qa.jsonl --docs data/sample
    python bench/answer.py --oracle                         # the answer's window put first
    python bench/answer.py --perturbed                      # + answers over changed passages
    python bench/answer.py --kinds                          # summaries, comparisons, lists...

Only the `report` split of each QA file is asked unless `--split` says otherwise (knobs are
tuned on `tune`). Each answer is scored as the service finally gives it (`Answer`: its text with
checked citations, the refusal where nothing was supported): time to the first piece of answer
shown and to the whole answer (from the question, retrieval included), whether the answer cites
a passage, containment (the expected answer string, NFKC and without whitespace, is in the
answer or in a passage it cites), and false refusals (an answerable question refused).
Questions with `"answer": null` (tests/data/absent_qa.jsonl, asked by default) have no answer in
the notes: there the measure is whether the answer refuses, and an answer citing a passage
instead is counted apart as a cited falsehood. `--perturbed` also asks each answerable question
with its answer's passage changed (`evaluation.perturbed`). Rates are printed per backend,
overall and per question language; JSON goes to bench/results/answer.json (answer-pydocs.json
with `--pydocs`). Embedding and generation never overlap: each question is retrieved, then
answered. `--oracle` moves the best-ranked window that holds the expected answer (among the
first 30) to the front of every answerable question's passages, showing what the model does when
retrieval puts the right window first (JSON: answer-oracle.json).

`--kinds` asks the questions beyond one passage instead (`evaluation.coverage`: the kinds QA sets
over the seed notes and over the manpages-zh pages, `KINDS_SETS`), and as many lookups of the
seeds QA (`--limit`, default 5 per language) for the time to first token the wider context costs
against a lookup; per kind: key-point coverage (and the share the passages shown hold), false
refusals, unsupported lines shown (uncited, flagged) and left out (a comparison's or list's),
time to first token, whole answer time, passages used and answers whose material was cut (JSON:
answer-kinds.json, whose rows hold each answer, its missed key points and its unsupported
lines).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.ingest import CORPORA  # noqa: E402
from config import OpenAIProfile, Settings, load_settings  # noqa: E402
from evaluation.answers import answer_rows, summarize  # noqa: E402
from evaluation.corpora import PYDOCS_HTML, copy_pydocs_pages, render_manpages  # noqa: E402
from evaluation.coverage import coverage_rows, read_kinds_qa, summarize_coverage  # noqa: E402
from evaluation.perturbed import (  # noqa: E402
    faithfulness_rows,
    perturbed_set,
    summarize_faithfulness,
)
from evaluation.scoring import SPLITS, QAItem, read_qa, squeeze  # noqa: E402
from llms.local_server import llama_server  # noqa: E402
from services.answering import AnswerOptions, RagService  # noqa: E402
from services.container import ServiceHub  # noqa: E402

SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
QA_FILES = [
    REPO / "tests" / "data" / "seeds_qa_zh.jsonl",
    REPO / "tests" / "data" / "seeds_qa_en.jsonl",
]
ABSENT = REPO / "tests" / "data" / "absent_qa.jsonl"
"""Questions no notes answer: refusing them is right (answer null)."""
PYDOCS_QA = [
    REPO / "tests" / "data" / "pydocs_qa.jsonl",
    REPO / "tests" / "data" / "pydocs_absent_qa.jsonl",
]
PYDOCS_PAGES = REPO / "tests" / "data" / "pydocs_pages.txt"
"""The python3-doc library pages CI indexes, one file name a line."""
MANPAGES_PAGES = REPO / "tests" / "data" / "manpages_pages.txt"
"""The manpages-zh pages CI indexes (`man1/tar`), one a line."""
KINDS_SETS: dict[str, tuple[Path, Callable[[], Path]]] = {
    "seeds": (REPO / "tests" / "data" / "kinds_seeds.jsonl", lambda: SEEDS),
    "manpages": (
        REPO / "tests" / "data" / "kinds_manpages.jsonl",
        lambda: render_manpages(MANPAGES_PAGES, CORPORA / "manpages"),
    ),
}
"""The questions beyond one passage, per corpus: (QA file, its documents)."""


def pydocs_pages() -> Path:
    """The python3-doc library pages CI indexes, copied into bench/corpora/pydocs-pages."""
    return copy_pydocs_pages(PYDOCS_PAGES, CORPORA / "pydocs-pages")


def main() -> None:
    args = _parse_args()
    if args.kinds is not None:
        return kinds(args.kinds or list(KINDS_SETS), args.split, args.limit or 5)
    settings = load_settings()
    use_documents(settings, args.docs)
    hub = ServiceHub(settings)
    hub.ingest(on_message=lambda _: None)
    items = [item for path in args.qa for item in _questions(path, args.split, args.limit)]
    results = {"local": _run(hub, "local", items, args.oracle, args.perturbed)}
    if args.server:
        with llama_server(settings.llm.profiles["local"].model_path) as base_url:
            settings.llm.profiles["server"] = OpenAIProfile(
                model="local",
                base_url=base_url,
                api_key="bench",
                n_ctx=4096,
                temperature=0.0,
                max_tokens=settings.llm.profiles["local"].max_tokens,
            )
            results["openai (llama.cpp server)"] = _run(hub, "server", items, args.oracle)
    if args.transformers:
        results["transformers (float32)"] = _run(hub, "transformers", items, args.oracle)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stem = "answer-pydocs" if args.pydocs else "answer"
    name = f"{stem}-oracle.json" if args.oracle else f"{stem}.json"
    (out / name).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    for backend, result in results.items():
        print(f"{backend}: {json.dumps(result['summary'], ensure_ascii=False)}")


def kinds(corpora: list[str], split: str, lookups: int) -> None:
    """--kinds: coverage and speed per kind of question on each of `corpora` (`KINDS_SETS`),
    with `lookups` lookups per language of the seeds QA as the baseline; each corpus printed
    and written as soon as it is done."""
    results = {}
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    for corpus in corpora:
        qa, documents = KINDS_SETS[corpus]
        settings = load_settings()
        use_documents(settings, documents())
        hub = ServiceHub(settings)
        hub.ingest(on_message=lambda _: None)
        service = hub.service("local")
        if corpus == "seeds":
            items = [item for path in QA_FILES for item in _questions(path, split, lookups)]
            lookup = results["lookup"] = summarize(answer_rows(service, items))
            print(f"lookup: {json.dumps(lookup)}", flush=True)
        rows = coverage_rows(service, read_kinds_qa(qa, split))
        results[corpus] = {"summary": summarize_coverage(rows), "rows": rows}
        for kind, summary in results[corpus]["summary"]["by_kind"].items():
            shown = {key: value for key, value in summary.items() if key != "by_language"}
            print(f"{corpus} {kind}: {json.dumps(shown, ensure_ascii=False)}", flush=True)
        (out / "answer-kinds.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))


def use_documents(settings: Settings, docs: Path) -> None:
    """Point the settings at `docs`, with an index of their own per window size (switch
    freely): the answer benchmarks share it."""
    settings.paths.documents = docs.resolve()
    chunking = settings.chunking
    name = f"bench-answer-{docs.resolve().name}-{chunking.size}-{chunking.overlap}"
    settings.paths.index = REPO / ".ragchat" / name


def _questions(path: Path, split: str, limit: int | None) -> list[QAItem]:
    """The file's questions of `split`, at most `limit` per question language."""
    items = read_qa(path, allow_absent=True, split=split)
    languages = dict.fromkeys(item.language for item in items)
    return [
        item
        for language in languages
        for item in [i for i in items if i.language == language][:limit]
    ]


def _run(
    hub: ServiceHub, profile: str, items: list[QAItem], oracle: bool, perturbed: bool = False
) -> dict:
    service = hub.service(profile)
    if oracle:
        rows = answer_rows(service, items, _answer_window_first(service))
    else:
        rows = answer_rows(service, items)
    result = {"summary": summarize(rows), "rows": rows}
    if perturbed:
        faithful = faithfulness_rows(service, perturbed_set(service, items))
        result["summary"]["perturbed"] = summarize_faithfulness(faithful)
        result["perturbed_rows"] = faithful
    return result


def _answer_window_first(service: RagService) -> Callable[[QAItem], AnswerOptions]:
    """--oracle: each answerable question is answered from its first 30 passages (reranked as
    usual) with the best-ranked one holding the expected answer put first; the service keeps
    what fits its budget."""

    def options(item: QAItem) -> AnswerOptions:
        found = service.retrieve(item.question, AnswerOptions(k=30))
        answer = item.answer
        holding = [d for d in found if answer and squeeze(answer) in squeeze(d.page_content)]
        ordered = holding[:1] + [d for d in found if d not in holding[:1]]
        return AnswerOptions(kind="lookup", passages=tuple(ordered)) if answer else AnswerOptions()

    return options


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qa", type=Path, nargs="+", help="null answer: absent")
    parser.add_argument("--docs", type=Path)
    parser.add_argument(
        "--pydocs",
        action="store_true",
        help="python3-doc QA (and its absent questions) over the CI pages, unless --qa/--docs",
    )
    parser.add_argument(
        "--split", choices=[*SPLITS, "all"], default="report", help="default: report"
    )
    parser.add_argument("--limit", type=int, help="questions per QA file and language")
    parser.add_argument(
        "--perturbed",
        action="store_true",
        help="also ask each answerable question with its answer's passage changed "
        "(evaluation.perturbed; local model)",
    )
    parser.add_argument(
        "--kinds",
        nargs="*",
        choices=list(KINDS_SETS),
        help="summaries, overviews, comparisons and lists (the kinds QA sets of these corpora; "
        "none named: all), per kind",
    )
    parser.add_argument("--server", action="store_true", help="also the openai backend")
    parser.add_argument(
        "--oracle", action="store_true", help="put the window holding the answer first"
    )
    parser.add_argument(
        "--transformers", action="store_true", help="also the transformers backend (profile)"
    )
    args = parser.parse_args()
    if args.pydocs and not PYDOCS_HTML.is_dir():
        parser.error(f"--pydocs: Debian's python3-doc is not installed ({PYDOCS_HTML})")
    args.qa = args.qa or (PYDOCS_QA if args.pydocs else [*QA_FILES, ABSENT])
    args.docs = args.docs or (pydocs_pages() if args.pydocs else SEEDS)
    return args


if __name__ == "__main__":
    main()
