"""Keyword search: ragchat's own BM25 against Milvus's built-in BM25 full-text search, same
chunks, same questions, BM25 alone (no dense search, no fusion, no de-duplication).

    python bench/milvus_bm25.py             # the three QA sets, 3 runs each
    python bench/milvus_bm25.py --runs 5

The chunks are made exactly as ingest makes them (`index.updater.ingest` into a temporary FAISS
index with the default settings). Milvus gets them in a Milvus Lite collection whose `text`
field has a jieba analyzer and a BM25 function filling a sparse vector field
(SPARSE_INVERTED_INDEX, metric BM25), once as configured by default and once with ragchat's stop
words as the analyzer's stop filter, which separates what the tokenizer does from what the
engine does. Each question is asked as ragchat's retriever would pass it (NFKC-normalized).
Hit@k and MRR@10 follow `evaluation.scoring` (the answer string in the k-th chunk); latency is
the median over runs of each run's p50. Writes bench/results/milvus_bm25.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from langchain_core.documents import Document  # noqa: E402

from config import EmbeddingSettings, PathsSettings, Settings, StoreSettings  # noqa: E402
from evaluation.scoring import QAItem, evaluate_retrieval, read_qa  # noqa: E402
from index.bm25 import STOP_WORDS  # noqa: E402
from index.embeddings import Embedder, build_embedder  # noqa: E402
from index.knowledge_base import KnowledgeBase  # noqa: E402
from index.stores.milvus.client import connect, release  # noqa: E402
from index.updater import ingest  # noqa: E402
from index.versions import load_index  # noqa: E402
from text.normalize import normalize_text  # noqa: E402

SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
SAMPLE = REPO / "data" / "sample"
QA = REPO / "tests" / "data"
SETS = {  # QA set -> the corpus its questions are about
    "seeds_qa_zh": SEEDS,
    "seeds_qa_en": SEEDS,
    "sample_qa": SAMPLE,
}
ANALYZERS = {
    "milvus jieba": {"tokenizer": "jieba"},
    "milvus jieba + ragchat stop words": {
        "tokenizer": "jieba",
        "filter": [{"type": "stop", "stop_words": sorted(STOP_WORDS)}],
    },
}
K = 10
Search = Callable[[str], list[Document]]


def main() -> None:
    args = _parse_args()
    embedder = build_embedder(EmbeddingSettings())
    report: dict = {"runs": args.runs, "k": K, "corpora": {}, "sets": {}}
    with tempfile.TemporaryDirectory() as tmp:
        milvus = StoreSettings(backend="milvus", uri=str(Path(tmp) / "bm25.db"))
        client = connect(milvus)
        try:
            for corpus in dict.fromkeys(SETS.values()):
                knowledge_base = _chunks(corpus, Path(tmp) / corpus.name, embedder)
                engines, built = _engines(knowledge_base, client, corpus.name)
                report["corpora"][corpus.name] = {
                    "chunks": knowledge_base.vector_count,
                    "build_s": built,
                }
                for name, folder in SETS.items():
                    if folder == corpus:
                        items = read_qa(QA / f"{name}.jsonl")
                        report["sets"][name] = _compare(engines, items, args.runs)
        finally:
            release(milvus)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "milvus_bm25.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    _print(report)


def _chunks(corpus: Path, folder: Path, embedder: Embedder) -> KnowledgeBase:
    """The corpus's chunks as ingest makes them, in a temporary FAISS index."""
    settings = Settings(paths=PathsSettings(documents=corpus, index=folder / "index"))
    ingest(settings, embedder, show_progress=False, on_message=lambda _: None)
    return load_index(settings.paths.index, embedder, settings.store)


def _engines(
    knowledge_base: KnowledgeBase, client: object, corpus: str
) -> tuple[dict[str, Search], dict[str, float]]:
    """Each engine's search over the knowledge base's chunks, and its build time in seconds
    (ragchat: the BM25 matrix from the stored term counts, built by the first search; Milvus:
    insert, analysis, flush)."""
    started = time.perf_counter()
    knowledge_base.keyword_search("", K)
    built = {"ragchat": time.perf_counter() - started}

    def ragchat(question: str) -> list[Document]:
        found = knowledge_base.keyword_search(question, K)
        documents = knowledge_base.documents_by_id(found)
        return [documents[i] for i in found]

    engines: dict[str, Search] = {"ragchat": ragchat}
    for number, (name, analyzer) in enumerate(ANALYZERS.items()):
        collection = f"bm25_{corpus.replace('-', '_')}_{number}"
        started = time.perf_counter()
        _fill(client, collection, analyzer, knowledge_base)
        built[name] = time.perf_counter() - started
        engines[name] = _milvus_search(client, collection, knowledge_base)
    return engines, {name: round(seconds, 3) for name, seconds in built.items()}


def _fill(client, collection: str, analyzer: dict, knowledge_base: KnowledgeBase) -> None:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field(
        "text",
        DataType.VARCHAR,
        max_length=65535,
        enable_analyzer=True,
        analyzer_params=analyzer,
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    index = client.prepare_index_params()
    index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(
        collection, schema=schema, index_params=index, consistency_level="Strong"
    )
    rows = [{"id": d.id, "text": d.page_content} for d in knowledge_base.documents()]
    client.insert(collection, rows)
    client.flush(collection)


def _milvus_search(client, collection: str, knowledge_base: KnowledgeBase) -> Search:
    def search(question: str) -> list[Document]:
        hits = client.search(
            collection,
            data=[normalize_text(question)],
            anns_field="sparse",
            limit=K,
            search_params={"metric_type": "BM25"},
            output_fields=["id"],
        )
        # like ragchat's, only chunks that share a term with the question come back (Milvus
        # Lite gives their score negated as the distance; a Milvus server gives it as is)
        return [knowledge_base.document(h["id"]) for h in hits[0]]

    return search


def _compare(engines: dict[str, Search], items: list[QAItem], runs: int) -> dict:
    """Each engine's quality and latency on one QA set, and how often it agrees with ragchat."""
    rows = {}
    for name, search in engines.items():
        results = [evaluate_retrieval(search, items, name) for _ in range(runs)]
        assert all(r.ranks == results[0].ranks for r in results), f"{name}: ranks changed"
        summary = results[0].summary()
        rows[name] = {
            "n": summary["n"],
            "hit_at_1": summary["hit_at_1"],
            "hit_at_5": summary["hit_at_5"],
            "mrr_at_10": summary["mrr_at_10"],
            "p50_ms": round(statistics.median(r.summary()["p50_ms"] for r in results), 2),
            "p50_ms_runs": [r.summary()["p50_ms"] for r in results],
        }
    baseline = {item.qid: [d.id for d in engines["ragchat"](item.question)] for item in items}
    for name, search in engines.items():
        found = {item.qid: [d.id for d in search(item.question)] for item in items}
        rows[name]["same_top1_as_ragchat"] = round(
            statistics.mean(found[q][:1] == baseline[q][:1] for q in found), 3
        )
        rows[name]["top10_overlap_with_ragchat"] = round(
            statistics.mean(
                len(set(found[q]) & set(baseline[q])) / max(len(baseline[q]), 1) for q in found
            ),
            3,
        )
    return rows


def _print(report: dict) -> None:
    for corpus, facts in report["corpora"].items():
        print(f"{corpus}: {facts['chunks']} chunks; build s {json.dumps(facts['build_s'])}")
    header = f"{'set':<12} {'engine':<34} {'hit@1':>6} {'hit@5':>6} {'MRR@10':>7} {'p50 ms':>7}"
    print(header + f" {'top1=':>6} {'ovl@10':>6}")
    for name, rows in report["sets"].items():
        for engine, row in rows.items():
            print(
                f"{name:<12} {engine:<34} {row['hit_at_1']:>6.3f} {row['hit_at_5']:>6.3f} "
                f"{row['mrr_at_10']:>7.3f} {row['p50_ms']:>7.2f} "
                f"{row['same_top1_as_ragchat']:>6.3f} {row['top10_overlap_with_ragchat']:>6.3f}"
            )


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per engine and QA set")
    return parser.parse_args()


if __name__ == "__main__":
    main()
