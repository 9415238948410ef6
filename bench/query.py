"""Query latency on a large index: ragchat's retriever, with and without sentence reranking,
against LangChain's plain FAISS search, same index, same embedding model, same questions.

    python bench/query.py                  # Python-docs corpus (all library pages), 200 queries
    python bench/query.py --pages 40       # a smaller index: the first 40 library pages
    python bench/query.py --ci-pages       # the python3-doc pages CI indexes
    python bench/query.py --docs ../shared/corpus/seeds

The index is built once (incrementally) under .ragchat/bench-query-*. Queries are the opening
words of randomly chosen chunks (fixed seed), so every query has a known target. Every path runs
every query `--runs` times (3 by default) in turns, after one warm-up query; p50/p95 are the
medians over the runs, and each path's p50 ratio to LangChain's is the median of the ratios
within a run (so a busy moment of the machine slows both sides of a ratio). Query embedding is
timed; no query is translated.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from langchain_community.vectorstores import FAISS  # noqa: E402
from langchain_community.vectorstores.utils import DistanceStrategy  # noqa: E402
from langchain_core.documents import Document  # noqa: E402

from bench.answer import pydocs_pages  # noqa: E402
from bench.ingest import pydocs_corpus  # noqa: E402
from chains.retrieval import build_retriever  # noqa: E402
from config import load_settings  # noqa: E402
from index.embeddings import build_embedder  # noqa: E402
from index.knowledge_base import KnowledgeBase  # noqa: E402
from index.updater import ingest  # noqa: E402
from index.versions import load_index  # noqa: E402

BASELINE = "langchain FAISS.similarity_search"
Search = Callable[[str], list[Document]]


def main() -> None:
    args = _parse_args()
    corpus = _corpus(args)
    settings = load_settings()
    settings.paths.documents = corpus
    settings.paths.index = REPO / ".ragchat" / f"bench-query-{corpus.name}"
    embedder = build_embedder(settings.embedding)
    ingest(settings, embedder, show_progress=True)
    knowledge_base = load_index(settings.paths.index, embedder)
    chunks = list(knowledge_base.documents())
    random.seed(7)
    targets = random.sample(chunks, min(args.queries, len(chunks)))
    queries = [(d.id, d.page_content[:80]) for d in targets]

    store = _langchain_faiss(knowledge_base, chunks)
    dense, hybrid = (
        build_retriever(knowledge_base, settings.retrieval.model_copy(update={"mode": m, "k": 5}))
        for m in ("dense", "hybrid")
    )
    paths: dict[str, Search] = {
        BASELINE: lambda q: store.similarity_search(q, k=5),
        "ragchat dense": dense.invoke,
        "ragchat dense (no rerank)": lambda q: dense.invoke(q, rerank=False),
        "ragchat hybrid": hybrid.invoke,
        "ragchat hybrid (no rerank)": lambda q: hybrid.invoke(q, rerank=False),
    }
    if hybrid.rerank is None:  # retrieval.rerank_top <= 1: nothing to compare
        paths = {name: search for name, search in paths.items() if "rerank" not in name}
    runs = [{name: _time(run, queries) for name, run in paths.items()} for _ in range(args.runs)]
    report = {
        "corpus": str(corpus),
        "chunks": len(chunks),
        "queries": len(queries),
        "runs": args.runs,
        "paths": {name: _summary(name, runs) for name in paths},
    }
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "query.json").write_text(json.dumps(report, indent=1))
    print(f"{report['chunks']} chunks, {report['queries']} queries, {args.runs} runs")
    for name, row in report["paths"].items():
        print(f"  {name:<36} {json.dumps(row)}")


def _corpus(args: argparse.Namespace) -> Path:
    if args.docs:
        return args.docs.resolve()
    if args.ci_pages:
        return pydocs_pages()
    return pydocs_corpus(args.pages, library_only=True)


def _time(search: Search, queries: list[tuple[str, str]]) -> dict:
    """One run of a path: per query latency (ms), and hit@5 on the query's own chunk."""
    search(queries[0][1])  # warm-up (BM25 matrix, caches)
    times, hits = [], 0
    for chunk_id, query in queries:
        started = time.perf_counter()
        found = search(query)
        times.append((time.perf_counter() - started) * 1000)
        hits += any(d.id == chunk_id for d in found)
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(0.95 * (len(times) - 1))],
        "hit_at_5": hits / len(queries),
    }


def _summary(name: str, runs: list[dict[str, dict]]) -> dict:
    """A path's medians over the runs, and its p50 ratio to the baseline (median of the
    ratios within a run)."""

    def median(key: str) -> float:
        return round(statistics.median(run[name][key] for run in runs), 2)

    return {
        "p50_ms": median("p50_ms"),
        "p95_ms": median("p95_ms"),
        "p50_ms_runs": [round(run[name]["p50_ms"], 2) for run in runs],
        "hit_at_5": round(statistics.median(run[name]["hit_at_5"] for run in runs), 3),
        "p50_ratio_to_langchain": round(
            statistics.median(run[name]["p50_ms"] / run[BASELINE]["p50_ms"] for run in runs), 2
        ),
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=0, help="library pages (0 = all)")
    parser.add_argument(
        "--ci-pages",
        action="store_true",
        help="the python3-doc pages CI indexes (tests/data/pydocs_pages.txt)",
    )
    parser.add_argument("--docs", type=Path, help="any documents folder instead of python3-doc")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="runs per path (medians reported)")
    return parser.parse_args()


def _langchain_faiss(knowledge_base: KnowledgeBase, chunks: list) -> FAISS:
    """The same chunks and vectors in LangChain's own FAISS wrapper: the baseline."""
    vectors = knowledge_base.vectors_by_id(knowledge_base.ids)
    return FAISS.from_embeddings(
        [(d.page_content, vectors[d.id].tolist()) for d in chunks],
        knowledge_base.embeddings,
        metadatas=[d.metadata for d in chunks],
        ids=[d.id for d in chunks],
        distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
    )


if __name__ == "__main__":
    main()
