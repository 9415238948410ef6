"""Growth benchmark: ragchat's two vector stores at 10k, 100k and 1M chunks, in one run.

    python bench/scale.py                             # 10k, 100k, 1M; faiss, faiss-hnsw, milvus
    python bench/scale.py --sizes 10000,100000 --stores faiss,faiss-hnsw --vectors text
    nohup nice -n 10 .venv/bin/python bench/scale.py --sizes 1000000 > scale.log 2>&1 &

Chunks are ~500-character windows of Debian's python3-doc library pages (ragchat's own sliding
windows, 500/100 characters), repeated with two words swapped and a copy number until the size
is reached, in "files" of 20 chunks. Embedding time is left out, the store is what is measured:
the vectors are made, 384 dimensions, fixed seeds (`--vectors`):
  random  random unit vectors, and so are the queries: no structure at all, the worst case for
          an approximate index
  text    vectors with the structure of the texts: each base window's TF-IDF (ragchat's BM25
          tokens) projected to 384 dimensions by a fixed Gaussian matrix, and each chunk that
          window's vector plus noise of norm 0.5 (cosine ~0.9 to its window); the queries are
          100 other noisy copies of random windows, held out of the index. (Not the bundled
          neural embedder: on the shared 2-core machine it embedded 500 windows in 400 s.)
Stores: `faiss` (exact flat segments), `faiss-hnsw` (`store.vector_index = "hnsw"`), `milvus`
(Milvus Lite, in-process, a `.db` folder, `store.index_type` FLAT), `milvus-server` (the same
engine as a server in a process of its own, `python -m milvus_lite server`, reached by
`http://127.0.0.1:PORT`: one server per size, from the build to the last step, its data folder
in the scratch folder; its RSS (/proc VmRSS after each step, VmHWM) is reported apart).

Per store and size, each step runs in a fresh process, so its peak RSS is its own:
  build   KnowledgeBase.empty + add + save_index, timed once
  open    load_index, timed once; recall@10 of 100 dense searches against the exact top 10
          (found by the build, before saving, over every vector); then `--runs` runs of 100
          dense searches
          (`knowledge_base.search(vector, k=30)`) and 100 hybrid questions (`build_retriever`
          with rerank and translation off, `.invoke`; a first keyword search, which reads the
          FAISS segments' BM25 vocabularies and makes a Milvus Lite server build its sparse
          index, is timed apart); RSS (peak) after open and after
          the runs; opened `REOPENS` times more, timed (median: without the first open's imports);
          then opened once more under tracemalloc: the Python memory one open allocates
          (Milvus Lite's engine runs in this process, and is not in it); the manifest's share
          of an open (it lists every chunk id): its size, the time to read it, and with Milvus
          the time a replica with an empty index folder takes to copy it from the store
  replica a new process, started after `open` (the server has loaded the collection): its
          load_index and its first hybrid question (which reads the file list), timed; `--runs`
          such processes, medians
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
from contextlib import contextmanager
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
from index.bm25 import tokenize  # noqa: E402
from index.embeddings import Embedder, EmbedderIdentity  # noqa: E402
from index.knowledge_base import KnowledgeBase  # noqa: E402
from index.manifest import FILES_FILE, FileRecord, open_manifest  # noqa: E402
from index.updater import make_splitter  # noqa: E402
from index.versions import KEEPERS, current_version, load_index, save_index  # noqa: E402
from loaders.chunking import content_hash  # noqa: E402
from tests.support.milvus_server import milvus_server  # noqa: E402

RESULTS = REPO / "bench" / "results" / "scale.json"
DIMENSION = 384
CHUNKS_PER_FILE = 20
BATCH = 10_000
QUERIES = 100
REOPENS = 5
"""Opens timed after the questions (median): the first open also imports the store's client
libraries (pymilvus: 0.4 s) and is the first request to the server."""
K = 30
SEED = 17
RECALL_K = 10
EPSILON = 0.01
"""ann-benchmarks' "epsilon recall": a row found counts when its distance (1 - cosine) is
within (1 + EPSILON) of the exact 10th's. Synthetic copies of one window are near-ties, among
which plain recall@10 counts an equally close copy as a miss."""
EF_SEARCH = (128, 256, 512, 1024, 2048)
HYBRID = RetrievalSettings(rerank_top=0, translate_query="off")
"""The hybrid questions' retriever: dense and keyword search fused, no reranking, no model."""
"""`store.hnsw_ef_search` values an HNSW store's recall is also measured at."""
NOISE = 0.5
NOTE = (
    "synthetic chunks (python3-doc windows repeated with word swaps); vectors random unit "
    "vectors or (':text') noisy copies of each window's projected TF-IDF: no embedding time is "
    "included; faiss is exact flat, faiss-hnsw HNSW32; milvus is Milvus Lite, index FLAT, in "
    "ragchat's process; milvus-server the same engine as a server in its own process"
)


@dataclass(frozen=True)
class Store:
    """A store measured: its `StoreSettings`, and whether its engine runs as a server in a
    process of its own (Milvus Lite's server mode, reached by `http://127.0.0.1:PORT`) rather
    than in ragchat's process (FAISS; Milvus Lite's `.db` folder)."""

    settings: dict
    served: bool = False


STORES: dict[str, Store] = {
    "faiss": Store({"backend": "faiss", "vector_index": "flat"}),
    "faiss-hnsw": Store({"backend": "faiss", "vector_index": "hnsw"}),
    "milvus": Store({"backend": "milvus"}),
    "milvus-server": Store({"backend": "milvus"}, served=True),
}
"""The stores measured, by name."""


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


class Vectors:
    """The chunks' and the queries' vectors of one `--vectors` kind."""

    def __init__(self, kind: str, windows: list[str]) -> None:
        self.kind = kind
        self.windows = window_vectors(windows) if kind == "text" else None

    def chunks(self, rng: np.random.Generator, positions: np.ndarray) -> np.ndarray:
        """The vectors of the chunks at these positions of the corpus (`corpus`)."""
        if self.windows is None:
            return unit_vectors(rng, len(positions))
        return noisy(rng, self.windows[positions % len(self.windows)])

    def queries(self, count: int) -> np.ndarray:
        rng = np.random.default_rng([SEED, 3])
        if self.windows is None:
            return unit_vectors(rng, count)
        return noisy(rng, self.windows[rng.integers(len(self.windows), size=count)])


def noisy(rng: np.random.Generator, vectors: np.ndarray) -> np.ndarray:
    """Each vector plus a random one of norm `NOISE`, made unit length again."""
    shifted = vectors + NOISE * unit_vectors(rng, len(vectors))
    return shifted / np.linalg.norm(shifted, axis=1, keepdims=True)


def window_vectors(windows: list[str]) -> np.ndarray:
    """Each window's TF-IDF (BM25 tokens, log idf) projected to `DIMENSION` by a fixed Gaussian
    matrix (random projection keeps its cosines roughly), unit length."""
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    rows, columns = [], []
    for row, window in enumerate(windows):
        for token in tokenize(window):
            rows.append(row)
            columns.append(vocabulary.setdefault(token, len(vocabulary)))
    shape = (len(windows), len(vocabulary))
    counts = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=shape)
    idf = np.log(len(windows) / np.bincount(counts.indices, minlength=shape[1])).astype(np.float32)
    projection = np.random.default_rng([SEED, 4]).standard_normal((shape[1], DIMENSION))
    vectors = np.asarray(counts.multiply(idf[None, :]).tocsr() @ projection.astype(np.float32))
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


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
    windows: list[str], vectors: Vectors, first_file: int, files: int, copy_offset: int = 0
) -> Iterator[Batch]:
    """Files `first_file` .. `first_file + files - 1`, in batches; chunk i of the corpus is
    window i % len(windows) in copy i // len(windows) (+ `copy_offset`), so a file holds
    consecutive windows of one page, as a real one would."""
    rng = np.random.default_rng([SEED, first_file, copy_offset])
    per_batch = BATCH // CHUNKS_PER_FILE
    for begin in range(first_file, first_file + files, per_batch):
        numbers = range(begin, min(begin + per_batch, first_file + files))
        positions = np.arange(begin * CHUNKS_PER_FILE, numbers.stop * CHUNKS_PER_FILE)
        batch = Batch([], [], vectors.chunks(rng, positions), {})
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


def build(size: int, store: StoreSettings, index: Path, runs: int, kind: str) -> dict:
    """KnowledgeBase.empty + add + save_index; making the chunks and vectors is not timed, nor
    the exact top 10 of the recall queries (every chunk is still in memory, searched flat)."""
    windows = base_windows()
    vectors = Vectors(kind, windows)
    started = time.perf_counter()
    knowledge_base = KnowledgeBase.empty(random_embedder(), ChunkingSettings().model_dump(), store)
    adding = time.perf_counter() - started
    for batch in corpus(windows, vectors, 0, size // CHUNKS_PER_FILE):
        started = time.perf_counter()
        knowledge_base.add(batch.ids, batch.chunks, list(batch.vectors))
        knowledge_base.manifest.files.update(batch.files)
        adding += time.perf_counter() - started
    if store.backend == "faiss":
        exact = [knowledge_base.search(q, RECALL_K) for q in vectors.queries(QUERIES)]
        (index.parent / "exact.json").write_text(json.dumps(exact))
    started = time.perf_counter()
    save_index(knowledge_base, index)
    saving = time.perf_counter() - started
    return {"build_s": adding + saving, "add_s": adding, "save_s": saving}


def open_and_query(size: int, store: StoreSettings, index: Path, runs: int, kind: str) -> dict:
    """load_index, recall@10, then `runs` runs of dense searches and hybrid questions."""
    from chains.retrieval import build_retriever

    started = time.perf_counter()
    knowledge_base = load_index(index, random_embedder(), store)
    opened = time.perf_counter() - started
    open_rss = peak_rss_mib()
    manifest = manifest_share(index, store)
    recall = {"recall_at_10": float("nan"), "epsilon_recall_at_10": float("nan")}
    by_ef = {}
    if (index.parent / "exact.json").is_file():
        exact = json.loads((index.parent / "exact.json").read_text())
        queries = Vectors(kind, base_windows()).queries(QUERIES)
        recall = recalls(knowledge_base, queries, exact)
        if store.vector_index == "hnsw":
            by_ef = ef_sweep(knowledge_base, store, queries, exact)
    started = time.perf_counter()
    knowledge_base.keyword_search(
        "python", K
    )  # a server's first question (FAISS: vocabularies read)
    bm25 = time.perf_counter() - started
    retriever = build_retriever(knowledge_base, HYBRID)
    windows = base_windows()  # the questions' words, without reading the index's chunks
    dense, hybrid = [], []
    for run in range(runs):
        rng = np.random.default_rng([SEED, 1, run])
        vectors = unit_vectors(rng, QUERIES)
        dense.append(percentiles(lambda vector: knowledge_base.search(vector, K), vectors))
        questions = [question(windows[i], rng) for i in rng.integers(len(windows), size=QUERIES)]
        hybrid.append(percentiles(retriever.invoke, questions))
    queried_rss = peak_rss_mib()
    reopen = percentiles(lambda _: load_index(index, random_embedder(), store), range(REOPENS))
    kept = traced_mib(lambda: load_index(index, random_embedder(), store))
    return manifest | {
        "open_s": opened,
        "reopen_s": reopen["p50"] / 1000,
        **recall,
        "recall_by_ef_search": by_ef,
        "open_rss_mib": open_rss,
        "open_python_mib": kept,
        "bm25_build_s": bm25,
        "queried_rss_mib": queried_rss,
        "dense_ms": dense,
        "hybrid_ms": hybrid,
    }


def recalls(knowledge_base: KnowledgeBase, queries: np.ndarray, exact: list) -> dict:
    """recall@10 and ε-recall@10 of dense searches for `queries` against their `exact` top 10."""
    found = [knowledge_base.search(q, RECALL_K) for q in queries]
    pairs = list(zip(queries, found, exact, strict=True))
    return {
        "recall_at_10": statistics.mean(len(set(f) & set(e)) / RECALL_K for _, f, e in pairs),
        "epsilon_recall_at_10": statistics.mean(
            within_epsilon(knowledge_base, q, f, e) for q, f, e in pairs
        ),
    }


def ef_sweep(
    knowledge_base: KnowledgeBase, store: StoreSettings, queries: np.ndarray, exact: list
) -> dict[int, dict]:
    """Recall and dense search time (p50 ms, k = `K`) at each `EF_SEARCH` (`store.hnsw_ef_search`
    is read at each search)."""
    configured = store.hnsw_ef_search
    sweep = {}
    for ef in EF_SEARCH:
        store.hnsw_ef_search = ef
        timing = percentiles(lambda vector: knowledge_base.search(vector, K), queries)
        sweep[ef] = recalls(knowledge_base, queries, exact) | {"dense_p50_ms": timing["p50"]}
    store.hnsw_ef_search = configured
    return sweep


def within_epsilon(
    knowledge_base: KnowledgeBase, query: np.ndarray, found: list[str], exact: list[str]
) -> float:
    """The share of the exact top `RECALL_K` matched by rows found no farther than
    (1 + `EPSILON`) times the exact 10th's distance (`EPSILON`)."""
    vectors = knowledge_base.vectors_by_id([*found, *exact])
    distance = {i: 1.0 - float(np.dot(vector, query)) for i, vector in vectors.items()}
    bound = (1 + EPSILON) * max(distance[i] for i in exact)
    return sum(distance[i] <= bound for i in found) / RECALL_K


def manifest_share(index: Path, store: StoreSettings) -> dict[str, float]:
    """What of an open is the manifest's: the time to read manifest.json (what an open reads),
    and the size of the file list and the time to read it when first asked (it lists every
    chunk id: it grows with the corpus); for a store that keeps the live version (Milvus), the
    time a replica with an empty index folder takes to copy the version from the store."""
    version = current_version(index)
    assert version is not None
    started = time.perf_counter()
    manifest = open_manifest(version)
    opened = time.perf_counter()
    len(manifest.files)
    shares = {
        "manifest_read_s": opened - started,
        "file_list_mib": (version / FILES_FILE).stat().st_size / 2**20,
        "file_list_read_s": time.perf_counter() - opened,
    }
    if store.backend in KEEPERS:
        started = time.perf_counter()
        current_version(index.parent / "replica", store)
        shares["manifest_copy_s"] = time.perf_counter() - started
    return shares


def traced_mib(open_index: Callable[[], object]) -> float:
    """The Python memory held by what `open_index` returns (tracemalloc; Milvus Lite's engine
    runs in this process, outside Python's allocator, and is not in it)."""
    tracemalloc.start()
    try:
        held = open_index()
        return tracemalloc.get_traced_memory()[0] / 2**20 if held is not None else 0.0
    finally:
        tracemalloc.stop()


def update(size: int, store: StoreSettings, index: Path, runs: int, kind: str) -> dict:
    """load_index, then `runs` one-file updates: remove its chunks, add 20, save_index."""
    windows = base_windows()
    vectors = Vectors(kind, windows)
    knowledge_base = load_index(index, random_embedder(), store)
    times = []
    for run in range(runs):
        number = int(np.random.default_rng([SEED, 2, run]).integers(size // CHUNKS_PER_FILE))
        batch = next(corpus(windows, vectors, number, 1, copy_offset=1000 + run))
        (source,) = batch.files
        started = time.perf_counter()
        knowledge_base.remove(knowledge_base.manifest.files[source].chunk_ids)
        knowledge_base.add(batch.ids, batch.chunks, list(batch.vectors))
        knowledge_base.manifest.files.update(batch.files)
        save_index(knowledge_base, index)
        times.append(time.perf_counter() - started)
    return {"update_runs_s": times}


def replica(size: int, store: StoreSettings, index: Path, runs: int, kind: str) -> dict:
    """A process started after another opened the index (a new replica: the server has loaded
    the collection, the files are in the page cache): load_index, timed, then one question,
    timed (the first one reads the file list for the names of the documents)."""
    from chains.retrieval import build_retriever

    started = time.perf_counter()
    knowledge_base = load_index(index, random_embedder(), store)
    opened = time.perf_counter() - started
    open_rss = peak_rss_mib()
    retriever = build_retriever(knowledge_base, HYBRID)
    rng = np.random.default_rng([SEED, 3])
    windows = base_windows()
    asked = question(windows[int(rng.integers(len(windows)))], rng)
    started = time.perf_counter()
    retriever.invoke(asked)
    return {
        "replica_open_s": opened,
        "replica_question_s": time.perf_counter() - started,
        "replica_open_rss_mib": open_rss,
    }


STEPS: dict[str, Callable[[int, StoreSettings, Path, int, str], dict]] = {
    "build": build,
    "open": open_and_query,
    "replica": replica,
    "update": update,
}
"""Each step takes the size, the store's settings, the index folder, the number of runs and the
kind of vectors."""
REPEATED = {"replica"}
"""Steps run `--runs` times, each in a new process (medians): what they time happens once per
process."""


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


def run_step(
    step: str, store_name: str, size: int, runs: int, scratch: Path, kind: str, uri: str
) -> None:
    """Inside a child: one step; its result, the child's peak RSS and the machine's load (the
    higher 1-minute load average of its start and end: other work skews the times) go to
    STEP.json."""
    store = StoreSettings(**STORES[store_name].settings, uri=uri, collection="scale")
    load = os.getloadavg()[0]
    result = STEPS[step](size, store, scratch / "index", runs, kind)
    result[f"{step}_peak_rss_mib"] = peak_rss_mib()
    result[f"{step}_load"] = max(load, os.getloadavg()[0])
    (scratch / f"{step}.json").write_text(json.dumps(result))


# -- the parent: one store and size at a time, one step per child ---------------------------


def measure(store_name: str, size: int, runs: int, kind: str) -> dict:
    """Build, open and update one store at one size in a scratch folder removed afterwards.
    Each step's result is logged as it comes, so a long run that fails later keeps it."""
    with (
        tempfile.TemporaryDirectory(prefix=f"ragchat-scale-{store_name}-{size}-") as folder,
        engine(STORES[store_name], Path(folder)) as (uri, server),
    ):
        scratch = Path(folder)
        label = store_name if kind == "random" else f"{store_name}:{kind}"
        row: dict = {"store": label, "vectors": kind, "chunks": size, "runs": runs}
        for step in STEPS:
            command = [sys.executable, __file__, "--step", step, "--stores", store_name]
            command += ["--sizes", str(size), "--runs", str(runs), "--scratch", str(scratch)]
            command += ["--vectors", kind, "--uri", uri]
            results = []
            for _ in range(runs if step in REPEATED else 1):
                log(f"{store_name} {size:,}: {step}")
                subprocess.run(command, check=True)
                results.append(json.loads((scratch / f"{step}.json").read_text()))
                if server:
                    results[-1] |= server_rss_mib(server, step)
                log(f"{store_name} {size:,}: {step} done: {json.dumps(results[-1])}")
            row |= {key: statistics.median(r[key] for r in results) for key in results[0]}
            if step == "build":
                row["disk_mib"] = folder_mib(scratch)
    return summarized(row)


@contextmanager
def engine(store: Store, scratch: Path) -> Iterator[tuple[str, int | None]]:
    """The URI the steps connect to, and the process id of the server that answers it (None:
    the engine runs in each step's own process): a served store's server runs from the build
    to the last step, its data folder in the scratch folder."""
    if not store.served:
        yield str(scratch / "milvus.db"), None
        return
    with milvus_server(scratch / "milvus-server", log=scratch / "server.log") as served:
        yield served


def server_rss_mib(pid: int, step: str) -> dict[str, float]:
    """The server's resident memory now and at its peak so far (/proc: VmRSS, VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    kib = {line.split(":")[0]: int(line.split()[1]) for line in status if line.startswith("Vm")}
    return {f"{step}_server_rss_mib": kib["VmRSS"] / 1024, "server_peak_mib": kib["VmHWM"] / 1024}


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
    "replica_open_s": "replica s",
    "replica_open_rss_mib": "replica MiB",
    "reopen_s": "reopen s",
    "recall_at_10": "recall@10",
    "epsilon_recall_at_10": "ε-recall",
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
    "manifest_read_s": "manif. s",
    "file_list_read_s": "files s",
    "manifest_copy_s": "manif cp s",
    "open_server_rss_mib": "server MiB",
    "server_peak_mib": "srv peak",
}


def growth(rows: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Per store, each metric at one size over the same metric at the next smaller size."""
    ratios = {}
    for store in sorted({row["store"] for row in rows.values()}):
        sizes = sorted(row["chunks"] for row in rows.values() if row["store"] == store)
        for small, large in zip(sizes, sizes[1:], strict=False):
            a, b = rows[f"{store}/{small}"], rows[f"{store}/{large}"]
            ratios[f"{store} {large}/{small}"] = {
                key: b[key] / a[key] for key in COLUMNS if key in a and key in b
            }
    return ratios


def print_table(rows: dict[str, dict], ratios: dict[str, dict[str, float]]) -> None:
    print(f"\n{NOTE}; latencies in ms, medians of the runs")
    titles = "".join(f"{title:>11}" for title in COLUMNS.values())
    print(f"{'store':<18}{'chunks':>9}{titles}{'load':>7}")
    for row in sorted(rows.values(), key=lambda row: (row["store"], row["chunks"])):
        values = "".join(f"{row.get(key, float('nan')):>11.4g}" for key in COLUMNS)
        print(f"{row['store']:<18}{row['chunks']:>9,}{values}{row['load']:>7.1f}")
    print("\ngrowth (ratio of each metric between consecutive sizes)")
    for name, ratio in ratios.items():
        print(f"{name:<28}" + "".join(f"{ratio.get(key, float('nan')):>11.2f}" for key in COLUMNS))
    for row in rows.values():
        for ef, measured in row.get("recall_by_ef_search", {}).items():
            print(
                f"{row['store']} {row['chunks']:,} hnsw_ef_search {ef}: recall@10 "
                f"{measured['recall_at_10']:.3f}, ε-recall {measured['epsilon_recall_at_10']:.3f}, "
                f"dense p50 {measured['dense_p50_ms']:.2f} ms"
            )


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
        scratch = Path(args.scratch)
        run_step(args.step, stores[0], sizes[0], args.runs, scratch, args.vectors, args.uri)
        return
    results = Path(args.results)
    rows = json.loads(results.read_text())["rows"] if results.is_file() else {}
    for size in sizes:
        for store in stores:
            row = measure(store, size, args.runs, args.vectors)
            rows[f"{row['store']}/{size}"] = row
            ratios = growth(rows)
            results.parent.mkdir(parents=True, exist_ok=True)
            summary = {"note": NOTE, "environment": environment(), "rows": rows, "growth": ratios}
            results.write_text(json.dumps(summary, indent=1))
    print_table(rows, growth(rows))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="chunks (multiples of 20), comma-separated"
    )
    parser.add_argument(
        "--stores", default=",".join(STORES), help=f"stores, comma-separated: {', '.join(STORES)}"
    )
    parser.add_argument("--vectors", choices=("random", "text"), default="random")
    parser.add_argument(
        "--results", default=str(RESULTS), help="the JSON file rows are merged into"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of queries and of updates")
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    parser.add_argument("--uri", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
