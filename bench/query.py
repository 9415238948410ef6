"""Query latency on a large index: ragchat's retriever against LangChain's plain FAISS search,
same index, same embedding model, same questions, one run.

    python bench/query.py                  # Python-docs corpus (all library pages), 200 queries
    python bench/query.py --pages 40       # a smaller index

The index is built once (incrementally) under .ragchat/bench-query-*. Queries are the opening
words of randomly chosen chunks (fixed seed), so every query has a known target.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from langchain_community.vectorstores import FAISS  # noqa: E402
from langchain_community.vectorstores.utils import DistanceStrategy  # noqa: E402

from bench.ingest import pydocs_corpus  # noqa: E402
from chains.retrieval import build_retriever  # noqa: E402
from config import load_settings  # noqa: E402
from index.embeddings import build_embedder  # noqa: E402
from index.store import KnowledgeBase, load_index  # noqa: E402
from index.updater import ingest  # noqa: E402


def main() -> None:
    args = _parse_args()
    corpus = pydocs_corpus(args.pages, library_only=True)
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
    paths = {
        "langchain FAISS.similarity_search": lambda q: store.similarity_search(q, k=5),
        "ragchat dense": build_retriever(
            knowledge_base, settings.retrieval.model_copy(update={"mode": "dense", "k": 5})
        ).invoke,
        "ragchat hybrid": build_retriever(
            knowledge_base, settings.retrieval.model_copy(update={"mode": "hybrid", "k": 5})
        ).invoke,
    }
    report = {"chunks": len(chunks), "queries": len(queries), "paths": {}}
    for name, search in paths.items():
        search(queries[0][1])  # warm-up (BM25 matrix, caches)
        times, hits = [], 0
        for chunk_id, query in queries:
            started = time.perf_counter()
            found = search(query)
            times.append((time.perf_counter() - started) * 1000)
            hits += any(d.id == chunk_id for d in found)
        times.sort()
        report["paths"][name] = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "hit_at_5": round(hits / len(queries), 3),
        }
    baseline = report["paths"]["langchain FAISS.similarity_search"]["p50_ms"]
    for row in report["paths"].values():
        row["p50_ratio_to_langchain"] = round(row["p50_ms"] / baseline, 2)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "query.json").write_text(json.dumps(report, indent=1))
    print(f"{report['chunks']} chunks, {report['queries']} queries")
    for name, row in report["paths"].items():
        print(f"  {name:<36} {json.dumps(row)}")


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=0, help="library pages (0 = all)")
    parser.add_argument("--queries", type=int, default=200)
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
