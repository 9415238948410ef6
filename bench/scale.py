"""Growth benchmark: ragchat's two vector stores at 10k, 100k and 1M chunks, in one run.

    python bench/scale.py                                    # 10k, 100k, 1M; faiss and milvus
    python bench/scale.py --sizes 10000,100000 --stores faiss --runs 3
    nohup nice -n 10 .venv/bin/python bench/scale.py --sizes 1000000 > scale.log 2>&1 &

Chunks are ~500-character windows of Debian's python3-doc library pages (ragchat's own sliding
windows, 500/100 characters), repeated with two words swapped and a copy number until the size
is reached, in "files" of 20 chunks. Their vectors are random unit vectors (numpy, fixed seed,
384 dimensions), and so are the query vectors: embedding time is left out, the store is what is
measured. Milvus runs as Milvus Lite (in-process, a `.db` folder) with `store.index_type` FLAT.

Per store and size, each step runs in a fresh process, so its peak RSS is its own:
  build   KnowledgeBase.empty + add + save_index, timed once
  open    load_index, timed once; then `--runs` runs of 100 dense searches
          (`knowledge_base.search(vector, k=30)`) and 100 hybrid questions (`build_retriever`
          with rerank and translation off, `.invoke`; a first keyword search, which builds the
          FAISS store's BM25 matrix, is timed apart); RSS (peak) after open and after the runs;
          then opened once more under tracemalloc: the Python memory one open allocates
          (Milvus Lite's engine runs in this process, and is not in it)
  update  load_index, then `--runs` times: remove one file's chunks, add 20 new ones, update the
          manifest, save_index (remove + add + save timed)
  disk    the index folder, and Milvus Lite's `.db` folder, after the build
Latencies and update times are medians over the runs. Results are merged into
bench/results/scale.json by (store, size), so sizes measured in separate runs share one table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.ingest import pydocs_corpus  # noqa: E402
from config import ChunkingSettings, RetrievalSettings, StoreSettings  # noqa: E402
from index.embeddings import Embedder, EmbedderIdentity  # noqa: E402
from index.knowledge_base import KnowledgeBase  # noqa: E402
from index.manifest import FileRecord  # noqa: E402
from index.updater import make_splitter  # noqa: E402
from index.versions import load_index, save_index  # noqa: E402
from loaders.chunking import content_hash  # noqa: E402

RESULTS = REPO / "bench" / "results" / "scale.json"
DIMENSION = 384
CHUNKS_PER_FILE = 20
BATCH = 10_000
QUERIES = 100
K = 30
SEED = 17
NOTE = (
    "synthetic chunks (python3-doc windows repeated with word swaps), random unit vectors: "
    "no embedding time is included; milvus is Milvus Lite, index FLAT"
)


class RandomEmbeddings(Embeddings):
    """Random unit vectors: what the hybrid retriever's `embed_query` needs, at no cost."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return unit_vectors(self.rng, len(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return unit_vectors(self.rng, 1)[0].tolist()


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSION), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def random_embedder() -> Embedder:
    identity = EmbedderIdentity("random", f"unit-{DIMENSION}", DIMENSION, True)
    return Embedder(RandomEmbeddings(SEED), identity, len)


# -- the synthetic corpus --------------------------------------------------------------


@dataclass
class Batch:
    """Consecutive whole files of the corpus, with their chunks' vectors."""

    ids: list[str]
    chunks: list[Document]
    vectors: np.ndarray
    files: dict[str, FileRecord]


def base_windows() -> list[str]:
    """ragchat's 500/100-character windows of every python3-doc library page."""
    folder = pydocs_corpus(0, library_only=True)
    if not folder.is_dir():
        raise SystemExit(f"{folder} is missing: install Debian's python3-doc")
    splitter = make_splitter(ChunkingSettings(), random_embedder())
    pages = sorted(folder.glob("*.txt"))
    return [w for page in pages for w in splitter.split_text(page.read_text(encoding="utf-8"))]


def varied(window: str, copy: int, rng: np.random.Generator) -> str:
    """Copy `copy` of a window: the original first, later ones with two words swapped and the
    copy number at the end, so every chunk has its own text (and hash and BM25 terms)."""
    if copy == 0:
        return window
    words = window.split(" ")
    first, second = rng.integers(len(words), size=2)
    words[first], words[second] = words[second], words[first]
    return f"{' '.join(words)} ({copy})"


def corpus(
    windows: list[str], first_file: int, files: int, copy_offset: int = 0
) -> Iterator[Batch]:
    """Files `first_file` .. `first_file + files - 1`, in batches; chunk i of the corpus is
    window i % len(windows) in copy i // len(windows) (+ `copy_offset`), so a file holds
    consecutive windows of one page, as a real one would."""
    rng = np.random.default_rng([SEED, first_file, copy_offset])
    per_batch = BATCH // CHUNKS_PER_FILE
    for begin in range(first_file, first_file + files, per_batch):
        numbers = range(begin, min(begin + per_batch, first_file + files))
        batch = Batch([], [], unit_vectors(rng, len(numbers) * CHUNKS_PER_FILE), {})
        for number in numbers:
            _add_file(batch, number, windows, copy_offset, rng)
        yield batch


def _add_file(
    batch: Batch, number: int, windows: list[str], copy_offset: int, rng: np.random.Generator
) -> None:
    source = f"pages/{number:07d}.txt"
    texts = []
    for chunk in range(CHUNKS_PER_FILE):
        position = number * CHUNKS_PER_FILE + chunk
        copy = position // len(windows) + copy_offset
        texts.append(varied(windows[position % len(windows)], copy, rng))
    ids, offset = [], 0
    for chunk, text in enumerate(texts):
        digest = content_hash(text)
        metadata = {
            "source": source,
            "hash": digest,
            "chunk": chunk,
            "start": offset,
            "end": offset + len(text),
            "language": "en",
        }
        offset += len(text) + 1
        ids.append(hashlib.sha256(f"{source}\0{chunk}\0{digest}".encode()).hexdigest()[:24])
        batch.chunks.append(Document(page_content=text, metadata=metadata))
    batch.ids.extend(ids)
    whole = "\n".join(texts)
    batch.files[source] = FileRecord(content_hash(whole), len(whole), ids, time.time())


# -- the steps, each in its own process --------------------------------------------------


def build(size: int, store: StoreSettings, index: Path, runs: int) -> dict:
    """KnowledgeBase.empty + add + save_index; making the chunks and vectors is not timed."""
    windows = base_windows()
    started = time.perf_counter()
    knowledge_base = KnowledgeBase.empty(random_embedder(), ChunkingSettings().model_dump(), store)
    adding = time.perf_counter() - started
    for batch in corpus(windows, 0, size // CHUNKS_PER_FILE):
        started = time.perf_counter()
        knowledge_base.add(batch.ids, batch.chunks, list(batch.vectors))
        knowledge_base.manifest.files.update(batch.files)
        adding += time.perf_counter() - started
    started = time.perf_counter()
    save_index(knowledge_base, index)
    saving = time.perf_counter() - started
    return {"build_s": adding + saving, "add_s": adding, "save_s": saving}


def open_and_query(size: int, store: StoreSettings, index: Path, runs: int) -> dict:
    """load_index, then `runs` runs of dense searches and hybrid questions."""
    from chains.retrieval import build_retriever

    started = time.perf_counter()
    knowledge_base = load_index(index, random_embedder(), store)
    opened = time.perf_counter() - started
    open_rss = peak_rss_mib()
    started = time.perf_counter()
    knowledge_base.keyword_search("python", K)  # a server's first question (FAISS: BM25 built)
    bm25 = time.perf_counter() - started
    settings = RetrievalSettings(rerank_top=0, translate_query="off")
    retriever = build_retriever(knowledge_base, settings)
    windows = base_windows()  # the questions' words, without reading the index's chunks
    dense, hybrid = [], []
    for run in range(runs):
        rng = np.random.default_rng([SEED, 1, run])
        vectors = unit_vectors(rng, QUERIES)
        dense.append(percentiles(lambda vector: knowledge_base.search(vector, K), vectors))
        questions = [question(windows[i], rng) for i in rng.integers(len(windows), size=QUERIES)]
        hybrid.append(percentiles(retriever.invoke, questions))
    queried_rss = peak_rss_mib()
    kept = traced_mib(lambda: load_index(index, random_embedder(), store))
    return {
        "open_s": opened,
        "open_rss_mib": open_rss,
        "open_python_mib": kept,
        "bm25_build_s": bm25,
        "queried_rss_mib": queried_rss,
        "dense_ms": dense,
        "hybrid_ms": hybrid,
    }


def traced_mib(open_index: Callable[[], object]) -> float:
    """The Python memory held by what `open_index` returns (tracemalloc; Milvus Lite's engine
    runs in this process, outside Python's allocator, and is not in it)."""
    tracemalloc.start()
    try:
        held = open_index()
        return tracemalloc.get_traced_memory()[0] / 2**20 if held is not None else 0.0
    finally:
        tracemalloc.stop()


def update(size: int, store: StoreSettings, index: Path, runs: int) -> dict:
    """load_index, then `runs` one-file updates: remove its chunks, add 20, save_index."""
    windows = base_windows()
    knowledge_base = load_index(index, random_embedder(), store)
    times = []
    for run in range(runs):
        number = int(np.random.default_rng([SEED, 2, run]).integers(size // CHUNKS_PER_FILE))
        batch = next(corpus(windows, number, 1, copy_offset=1000 + run))
        (source,) = batch.files
        started = time.perf_counter()
        knowledge_base.remove(knowledge_base.manifest.files[source].chunk_ids)
        knowledge_base.add(batch.ids, batch.chunks, list(batch.vectors))
        knowledge_base.manifest.files.update(batch.files)
        save_index(knowledge_base, index)
        times.append(time.perf_counter() - started)
    return {"update_runs_s": times}


STEPS: dict[str, Callable[[int, StoreSettings, Path, int], dict]] = {
    "build": build,
    "open": open_and_query,
    "update": update,
}
"""Each step takes the size, the store's settings, the index folder and the number of runs."""


def question(text: str, rng: np.random.Generator) -> str:
    """Eight consecutive words of a chunk's text: a question whose terms are in the index."""
    words = text.split()
    begin = int(rng.integers(max(len(words) - 8, 1)))
    return " ".join(words[begin : begin + 8])


def percentiles(search: Callable[[Any], object], queries: Iterable[Any]) -> dict[str, float]:
    """p50 and p95 of the milliseconds each query takes (nearest rank, as bench/query.py)."""
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))]}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_step(step: str, store_name: str, size: int, runs: int, scratch: Path) -> None:
    """Inside a child: one step; its result, the child's peak RSS and the machine's load (the
    higher 1-minute load average of its start and end: other work skews the times) go to
    STEP.json."""
    store = StoreSettings(backend=store_name, uri=str(scratch / "milvus.db"), collection="scale")
    load = os.getloadavg()[0]
    result = STEPS[step](size, store, scratch / "index", runs)
    result[f"{step}_peak_rss_mib"] = peak_rss_mib()
    result[f"{step}_load"] = max(load, os.getloadavg()[0])
    (scratch / f"{step}.json").write_text(json.dumps(result))


# -- the parent: one store and size at a time, one step per child ---------------------------


def measure(store_name: str, size: int, runs: int) -> dict:
    """Build, open and update one store at one size in a scratch folder removed afterwards.
    Each step's result is logged as it comes, so a long run that fails later keeps it."""
    with tempfile.TemporaryDirectory(prefix=f"ragchat-scale-{store_name}-{size}-") as folder:
        scratch = Path(folder)
        row: dict = {"store": store_name, "chunks": size, "runs": runs}
        for step in STEPS:
            log(f"{store_name} {size:,}: {step}")
            command = [sys.executable, __file__, "--step", step, "--stores", store_name]
            command += ["--sizes", str(size), "--runs", str(runs), "--scratch", str(scratch)]
            subprocess.run(command, check=True)
            result = json.loads((scratch / f"{step}.json").read_text())
            log(f"{store_name} {size:,}: {step} done: {json.dumps(result)}")
            row |= result
            if step == "build":
                row["disk_mib"] = folder_mib(scratch)
    return summarized(row)


def folder_mib(folder: Path) -> float:
    """What the index takes on disk: the index folder and Milvus Lite's `.db` folder."""
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20


def summarized(row: dict) -> dict:
    """Medians over the runs, the insert rate, the time of measuring."""
    for path in ("dense", "hybrid"):
        for name in ("p50", "p95"):
            row[f"{path}_{name}_ms"] = statistics.median(run[name] for run in row[f"{path}_ms"])
    row["update_s"] = statistics.median(row["update_runs_s"])
    row["chunks_per_s"] = row["chunks"] / row["build_s"]
    row["load"] = max(row[f"{step}_load"] for step in STEPS)
    row["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return row


COLUMNS = {
    "build_s": "build s",
    "chunks_per_s": "chunks/s",
    "build_peak_rss_mib": "build MiB",
    "open_s": "open s",
    "open_rss_mib": "open MiB",
    "open_python_mib": "open py MiB",
    "queried_rss_mib": "asked MiB",
    "bm25_build_s": "1st kw s",
    "dense_p50_ms": "dense p50",
    "dense_p95_ms": "dense p95",
    "hybrid_p50_ms": "hybrid p50",
    "hybrid_p95_ms": "hybrid p95",
    "update_s": "update s",
    "disk_mib": "disk MiB",
}


def growth(rows: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Per store, each metric at one size over the same metric at the next smaller size."""
    ratios = {}
    for store in sorted({row["store"] for row in rows.values()}):
        sizes = sorted(row["chunks"] for row in rows.values() if row["store"] == store)
        for small, large in zip(sizes, sizes[1:], strict=False):
            a, b = rows[f"{store}/{small}"], rows[f"{store}/{large}"]
            ratios[f"{store} {large}/{small}"] = {key: b[key] / a[key] for key in COLUMNS}
    return ratios


def print_table(rows: dict[str, dict], ratios: dict[str, dict[str, float]]) -> None:
    print(f"\n{NOTE}; latencies in ms, medians of the runs")
    titles = "".join(f"{title:>11}" for title in COLUMNS.values())
    print(f"{'store':<8}{'chunks':>9}{titles}{'load':>7}")
    for row in sorted(rows.values(), key=lambda row: (row["store"], row["chunks"])):
        values = "".join(f"{row[key]:>11.4g}" for key in COLUMNS)
        print(f"{row['store']:<8}{row['chunks']:>9,}{values}{row['load']:>7.1f}")
    print("\ngrowth (ratio of each metric between consecutive sizes)")
    for name, ratio in ratios.items():
        print(f"{name:<17}" + "".join(f"{ratio[key]:>11.2f}" for key in COLUMNS))


def environment() -> dict:
    """What the numbers depend on besides ragchat: cores and the stores' packages."""
    from importlib.metadata import version

    packages = ("faiss-cpu", "milvus-lite", "pymilvus", "langchain-milvus")
    return {"cores": os.cpu_count(), "python": platform.python_version()} | {
        name: version(name) for name in packages
    }


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def main() -> None:
    args = parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    stores = args.stores.split(",")
    if args.step:
        run_step(args.step, stores[0], sizes[0], args.runs, Path(args.scratch))
        return
    rows = json.loads(RESULTS.read_text())["rows"] if RESULTS.is_file() else {}
    for size in sizes:
        for store in stores:
            rows[f"{store}/{size}"] = measure(store, size, args.runs)
            ratios = growth(rows)
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            summary = {"note": NOTE, "environment": environment(), "rows": rows, "growth": ratios}
            RESULTS.write_text(json.dumps(summary, indent=1))
    print_table(rows, growth(rows))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="chunks (multiples of 20), comma-separated"
    )
    parser.add_argument("--stores", default="faiss,milvus", help="store backends, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="runs of queries and of updates")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
