"""Where a Milvus open's time goes, and whether any of it grows with the corpus: each request
`load_index` makes to the server (the live version, the collection's identity and state, the
save markers), reading manifest.json, and the whole `load_index`, timed at two sizes taken in
turn, so that the shared machine's load falls on both alike; medians of `--repeats`.

    python bench/milvus_open.py --sizes 10000,100000 --repeats 41

Each size is built by `bench/scale.py`'s build step (synthetic text-structured chunks) into a
Milvus Lite server of its own (`python -m milvus_lite server`); `bench/scale.py` measures the
rest (memory, a new process's open, questions). Results: bench/results/milvus_open.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.scale import STORES, random_embedder  # noqa: E402
from config import StoreSettings  # noqa: E402
from index.knowledge_base import KnowledgeBase  # noqa: E402
from index.manifest import open_manifest  # noqa: E402
from index.stores.milvus.client import check_collection  # noqa: E402
from index.stores.milvus.keywords import read_markers, terms_collection  # noqa: E402
from index.versions import KEEPERS, current_version, load_index  # noqa: E402
from tests.support.milvus_server import milvus_server  # noqa: E402

RESULTS = REPO / "bench" / "results" / "milvus_open.json"

Part = Callable[[StoreSettings, Path, KnowledgeBase], object]
PARTS: dict[str, Part] = {
    "the live version's name": lambda store, index, kb: KEEPERS["milvus"](store).live(),
    "current_version (name + CURRENT)": lambda store, index, kb: current_version(index, store),
    "read manifest.json": lambda store, index, kb: open_manifest(current_version(index)),
    "collection identity": lambda store, index, kb: check_collection(
        kb.store.client, kb.store.collection, kb.identity, store
    ),
    "load collection": lambda store, index, kb: kb.store.client.load_collection(
        kb.store.collection
    ),
    "load statistics": lambda store, index, kb: kb.store.client.load_collection(
        terms_collection(kb.store.collection)
    ),
    "save markers": lambda store, index, kb: read_markers(kb.store.client, kb.store.collection),
    "load_index (all)": lambda store, index, kb: load_index(index, random_embedder(), store),
}
"""What an open does, one request or read at a time."""


def build(size: int, scratch: Path, uri: str) -> tuple[StoreSettings, Path]:
    """`size` chunks built into the server at `uri` by bench/scale.py's build step."""
    command = [sys.executable, str(REPO / "bench" / "scale.py"), "--step", "build"]
    command += ["--stores", "milvus-server", "--sizes", str(size), "--runs", "1"]
    command += ["--scratch", str(scratch), "--vectors", "text", "--uri", uri]
    subprocess.run(command, check=True)
    store = StoreSettings(**STORES["milvus-server"].settings, uri=uri, collection="scale")
    return store, scratch / "index"


def timed(parts: dict[str, Part], opened: dict[int, tuple], repeats: int) -> dict:
    """Milliseconds per part and size, medians of `repeats`, the sizes taken in turn."""
    times: dict[str, dict[int, list[float]]] = {p: {s: [] for s in opened} for p in parts}
    for _ in range(repeats):
        for name, part in parts.items():
            for size, arguments in opened.items():
                started = time.perf_counter()
                part(*arguments)
                times[name][size].append((time.perf_counter() - started) * 1000)
    return {
        part: {size: statistics.median(t) for size, t in by_size.items()}
        for part, by_size in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="two sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=41)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with ExitStack() as stack:
        indexes = {}
        for size in sizes:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="milvus-open-")))
            uri, _ = stack.enter_context(milvus_server(scratch / "server", scratch / "log"))
            indexes[size] = build(size, scratch, uri)
        opened = {
            size: (store, index, load_index(index, random_embedder(), store))
            for size, (store, index) in indexes.items()
        }
        medians = timed(PARTS, opened, args.repeats)
    small, large = sizes[0], sizes[-1]
    print(f"\n{'part':<34}" + "".join(f"{s:>12,}" for s in sizes) + "      growth")
    for name, by_size in medians.items():
        ms = "".join(f"{by_size[s]:>10.2f}ms" for s in sizes)
        print(f"{name:<34}{ms}{by_size[large] / by_size[small]:>11.2f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    measured = time.strftime("%Y-%m-%d %H:%M:%S")
    result = {"sizes": sizes, "repeats": args.repeats, "median_ms": medians, "at": measured}
    RESULTS.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
