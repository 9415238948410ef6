"""Support benchmark: the floor under which no passage supports an answer sentence, measured on
recorded answers.

    python bench/support.py record                 # the local model over the tune split
    python bench/support.py sweep                  # floors over the recorded answers
    python bench/support.py record --split report  # once, at the end: the reporting split
    python bench/support.py sweep --split report --same 0.92 --across 0.84

`record` runs the product's answer chain (`ServiceHub(settings).service()`, product defaults,
over the seed notes) on one split of tests/data/seeds_qa_{en,zh}.jsonl and absent_qa.jsonl and
keeps each question's raw model answer and its passages (bench/results/support-record-SPLIT.json).
`sweep` checks those answers again (no regeneration) under each pair of floors (`retrieval.
support_similarity` within a language / `support_similarity_across` between languages) and
prints, per pair, containment and citations per language, refusals of absent questions, and the
answerable questions the refusal rule turns into refusals (false refusals added); `before` is the
check of commit BEFORE (lexical support, unsupported markers kept, no refusal), `lexical` shared
words alone. Results: bench/results/support-sweep-SPLIT.json.

Floors are tuned on the `tune` split only (each QA line's `split` field); `report` is run once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from chains.citations import CitationStream, Support, cited_numbers, embedder_support  # noqa: E402
from chains.rerank import SentenceSimilarity  # noqa: E402
from config import Settings, load_settings  # noqa: E402
from evaluation.scoring import rate, squeeze  # noqa: E402
from services.answering import AnswerOptions  # noqa: E402
from services.container import ServiceHub  # noqa: E402
from text.language import REFUSALS, is_refusal, question_language  # noqa: E402

SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
DATA = REPO / "tests" / "data"
QA_FILES = [DATA / "seeds_qa_en.jsonl", DATA / "seeds_qa_zh.jsonl", DATA / "absent_qa.jsonl"]
RESULTS = REPO / "bench" / "results"


def split_items(path: Path, split: str) -> list[dict]:
    """The questions of a QA file whose `split` is `split`."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in records if r["split"] == split]


BEFORE = "dce5026"
"""The commit before support by the embedder: its citation check is the sweep's baseline."""
SAME = [0.88, 0.90, 0.91, 0.92, 0.93, 0.94]
ACROSS = [0.80, 0.82, 0.83, 0.84, 0.85, 0.86, 0.88]


def _settings() -> Settings:
    settings = load_settings()
    settings.paths.documents = SEEDS
    settings.paths.index = REPO / ".ragchat" / "bench-support-seeds"
    return settings


def record(split: str) -> None:
    hub = ServiceHub(_settings())
    hub.ingest(on_message=lambda _: None)
    service = hub.service()
    rows = []
    for item in [item for path in QA_FILES for item in split_items(path, split)]:
        started = time.perf_counter()
        inputs = {"question": item["question"], "history": [], "options": AnswerOptions()}
        final: dict = {}
        for chunk in service.chain.stream({**inputs, "temperature": None}):
            final.setdefault("answer", "")
            final["answer"] += chunk.get("answer", "")
            final.update({k: v for k, v in chunk.items() if k == "sources"})
        rows.append(
            {
                "qid": item["qid"],
                "language": question_language(item["question"]),
                "question": item["question"],
                "expected": item["answer"],
                "answer": final["answer"],
                "sources": [
                    {"id": d.id, "text": d.page_content, "source": d.metadata["source"]}
                    for d in final["sources"]
                ],
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        print(f"{item['qid']}: {final['answer']!r}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"support-record-{split}.json"
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    print(f"{len(rows)} answers -> {out}")


def sweep(split: str, same: list[float], across: list[float]) -> None:
    rows = json.loads((RESULTS / f"support-record-{split}.json").read_text(encoding="utf-8"))
    service = ServiceHub(_settings()).service(with_model=False)
    similarity = _Memo(service.retriever.rerank.similarity)
    before = _before_check()
    table = {"before": _score(rows, lambda answer, sources, _lang: before(answer, sources))}
    table["lexical"] = _score(rows, _checker(Support(), refuse=True))
    for same_floor in same:
        for across_floor in across:
            support = embedder_support(similarity, same_floor, across_floor)
            name = f"{same_floor:.2f} / {across_floor:.2f}"
            table[name] = _score(rows, _checker(support, refuse=True))
            table[f"{name} no refusal"] = _score(rows, _checker(support, refuse=False))
    columns = ["en_contained", "en_cited", "zh_contained", "zh_cited", "absent_refused"]
    columns += ["absent_en_refused", "absent_zh_refused", "false_refusals"]
    print(f"{'rule (same / across)':<24}" + "".join(f"{c:>18}" for c in columns))
    for name, result in table.items():
        print(f"{name:<24}" + "".join(f"{result[c]!s:>18}" for c in columns))
    out = RESULTS / f"support-sweep-{split}.json"
    out.write_text(json.dumps(table, ensure_ascii=False, indent=1))
    print(f"-> {out}")


Check = Callable[[str, list[Document], str], tuple[str, list[int]]]
"""(raw answer, passages, question language) -> (final answer, cited numbers)."""


def _checker(support: Support, refuse: bool) -> Check:
    def check(answer: str, sources: list[Document], language: str) -> tuple[str, list[int]]:
        stream = CitationStream(sources, support, REFUSALS[language] if refuse else None)
        stream.feed(answer)
        text = stream.text
        return text, cited_numbers(text, len(sources))

    return check


def _score(rows: list[dict], check: Check) -> dict:
    """Rates over the recorded answers checked by `check` (see module)."""
    scored = []
    for row in rows:
        sources = [Document(id=s["id"], page_content=s["text"]) for s in row["sources"]]
        text, cited = check(row["answer"], sources, row["language"])
        evidence = text + "".join(sources[n - 1].page_content for n in cited)
        expected = row["expected"]
        scored.append(
            {
                "language": row["language"],
                "answerable": expected is not None,
                "contained": expected is not None and squeeze(expected) in squeeze(evidence),
                "cited": bool(cited),
                "refused": is_refusal(text),
                "refusal_added": is_refusal(text) and not is_refusal(row["answer"]),
            }
        )
    answerable = [r for r in scored if r["answerable"]]
    absent = [r for r in scored if not r["answerable"]]
    result = {"false_refusals": sum(r["refusal_added"] for r in answerable)}
    for language in ("en", "zh"):
        mine = [r for r in answerable if r["language"] == language]
        result[f"{language}_contained"] = rate(mine, "contained")
        result[f"{language}_cited"] = rate(mine, "cited")
        result[f"absent_{language}_refused"] = rate(
            [r for r in absent if r["language"] == language], "refused"
        )
    result["absent_refused"] = rate(absent, "refused")
    return result


class _Memo:
    """The service's `SentenceSimilarity`, each answer sentence embedded once for the whole
    sweep."""

    def __init__(self, similarity: SentenceSimilarity) -> None:
        self.similarity = similarity
        self.sentence_texts = similarity.sentence_texts
        self.sentence_vectors = similarity.sentence_vectors
        self._queries: dict[str, np.ndarray] = {}

    def queries(self, texts: list[str]) -> np.ndarray:
        missing = [text for text in texts if text not in self._queries]
        if missing:
            self._queries.update(zip(missing, self.similarity.queries(missing), strict=True))
        return np.array([self._queries[text] for text in texts])


def _before_check() -> Callable[[str, list[Document]], tuple[str, list[int]]]:
    """`attribute_citations` as it was at BEFORE (lexical support; unsupported sentences kept
    their markers), and the numbers it cites."""
    source = subprocess.run(
        ["git", "show", f"{BEFORE}:chains/citations.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("citations_before")
    exec(compile(source, "citations_before.py", "exec"), module.__dict__)

    def check(answer: str, sources: list[Document]) -> tuple[str, list[int]]:
        text = module.attribute_citations(answer, sources)
        return text, cited_numbers(text, len(sources))

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["record", "sweep"])
    parser.add_argument("--split", choices=["tune", "report"], default="tune")
    parser.add_argument("--same", type=float, nargs="+", default=SAME, help="floors")
    parser.add_argument("--across", type=float, nargs="+", default=ACROSS, help="floors")
    args = parser.parse_args()
    if args.step == "record":
        record(args.split)
    else:
        sweep(args.split, args.same, args.across)


if __name__ == "__main__":
    main()
