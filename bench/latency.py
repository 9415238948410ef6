"""Retrieval latency with sentence reranking, on the seeds and on a 16k-chunk manual, in one run.

    python bench/latency.py                   # 3 runs of every question
    python bench/latency.py --runs 5 --skip-pydocs

Times `HybridRetriever.invoke` with the product's retrieval settings (hybrid, rerank_top 4),
query embedding included, translation off, three ways in the same run:
  stored      reranking reads the sentence vectors kept at ingest (the product)
  no rerank   the fused order (`rerank=False`)
  embedded    the sentences of the first passages embedded at question time, as before they
              were kept, every window seen for the first time (the baseline of the ratios)
on two indexes:
  seeds       the five seed notes (../shared/corpus/seeds), ingested with the bundled embedder,
              asked the seeds QA questions (zh + en)
  pydocs      every python3-doc library page as ragchat's 500/100 windows (~16k chunks): real
              texts and BM25 terms, real query vectors (the bundled embedder), but random unit
              vectors for the windows and their sentences, since embedding them takes about an
              hour on two cores and a search costs the same whatever the vectors hold; asked
              the python3-doc QA questions (zh + en)
Per run: p50 and p95 (nearest rank) of the milliseconds per question, after one warm-up
question; printed as medians over the runs with the ratio to `embedded`. JSON goes to
bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.scale import base_windows, percentiles, random_embedder, unit_vectors  # noqa: E402
from chains.rerank import SentenceReranker, SentenceSimilarity  # noqa: E402
from chains.retrieval import build_retriever  # noqa: E402
from config import ChunkingSettings, RetrievalSettings, load_settings  # noqa: E402
from evaluation.scoring import read_qa  # noqa: E402
from index.embeddings import build_embedder  # noqa: E402
from index.knowledge_base import KnowledgeBase  # noqa: E402
from index.records import encode_sentence_vectors, sentence_unit_limit  # noqa: E402
from index.updater import ingest  # noqa: E402
from index.versions import load_index  # noqa: E402
from loaders.chunking import content_hash  # noqa: E402
from text.sentences import sentence_units  # noqa: E402

DATA = REPO / "tests" / "data"
SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
RESULTS = REPO / "bench" / "results" / "latency.json"
WAYS = ("stored", "no rerank", "embedded")


def seeds_knowledge_base(scratch: Path) -> KnowledgeBase:
    """The seeds, ingested for real."""
    settings = load_settings()
    settings.paths.documents = SEEDS
    settings.paths.index = scratch / "seeds-index"
    embedder = build_embedder(settings.embedding)
    ingest(settings, embedder, show_progress=False, on_message=lambda _: None)
    return load_index(settings.paths.index, embedder, settings.store)


def pydocs_knowledge_base() -> KnowledgeBase:
    """python3-doc's library windows with random window and sentence vectors; questions are
    embedded by the bundled embedder (same dimension)."""
    rng = np.random.default_rng(0)
    windows = list(dict.fromkeys(base_windows()))
    knowledge_base = KnowledgeBase.empty(random_embedder(), ChunkingSettings().model_dump())
    most = sentence_unit_limit(knowledge_base.identity.dimension)
    ids, chunks = [], []
    for number, text in enumerate(windows):
        metadata = {"source": f"page-{number // 40:04d}.txt", "hash": content_hash(text)}
        chunks.append(
            Document(page_content=text, metadata={**metadata, "start": 0, "end": len(text)})
        )
        ids.append(f"c{number:06d}")
    sentences = [
        encode_sentence_vectors(unit_vectors(rng, len(sentence_units(c.page_content, most))))
        for c in chunks
    ]
    knowledge_base.add(ids, chunks, list(unit_vectors(rng, len(ids))), sentences)
    knowledge_base.embeddings = build_embedder(load_settings().embedding).embeddings
    return knowledge_base


def retrievers(knowledge_base: KnowledgeBase) -> dict[str, Callable[[str], object]]:
    """Each way of the module docstring, as a function of the question."""
    settings = RetrievalSettings(translate_query="off")
    product = build_retriever(knowledge_base, settings)
    before = build_retriever(knowledge_base, settings)
    embedding = SentenceSimilarity(knowledge_base.embeddings, settings.close_similarity)
    before.rerank = SentenceReranker(embedding, settings.rerank_top)

    def embedded(question: str) -> object:
        embedding._cache.clear()  # windows not seen before
        return before.invoke(question)

    return {
        "stored": product.invoke,
        "no rerank": lambda question: product.invoke(question, rerank=False),
        "embedded": embedded,
    }


def warm_percentiles(search: Callable[[str], object], questions: list[str]) -> dict:
    """p50 and p95 after one warm-up question (BM25 matrix, jieba's dictionary)."""
    search(questions[0])
    return percentiles(search, questions)


def measure(knowledge_base: KnowledgeBase, questions: list[str], runs: int) -> dict:
    ways = retrievers(knowledge_base)
    per_run = {way: [warm_percentiles(ways[way], questions) for _ in range(runs)] for way in WAYS}
    medians = {
        way: {p: statistics.median(r[p] for r in results) for p in ("p50", "p95")}
        for way, results in per_run.items()
    }
    baseline = medians["embedded"]["p50"]
    return {
        "chunks": knowledge_base.vector_count,
        "questions": len(questions),
        "runs": per_run,
        "median": medians,
        "p50_ratio_to_embedded": {w: medians[w]["p50"] / baseline for w in WAYS},
    }


def questions_of(*files: str) -> list[str]:
    return [item.question for name in files for item in read_qa(DATA / name)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-pydocs", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        if SEEDS.is_dir():
            seeds = seeds_knowledge_base(Path(scratch))
            asked = questions_of("seeds_qa_zh.jsonl", "seeds_qa_en.jsonl")
            results["seeds"] = measure(seeds, asked, args.runs)
        else:
            print(f"seeds skipped: {SEEDS} is missing", file=sys.stderr)
    if not args.skip_pydocs:
        results["pydocs"] = measure(
            pydocs_knowledge_base(), questions_of("pydocs_qa.jsonl"), args.runs
        )
    for corpus, result in results.items():
        print(f"\n{corpus}: {result['chunks']} chunks, {result['questions']} questions")
        for way in WAYS:
            median = result["median"][way]
            ratio = result["p50_ratio_to_embedded"][way]
            p50, p95 = median["p50"], median["p95"]
            print(f"  {way:<10} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({ratio:.2f}x)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
