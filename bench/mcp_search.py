"""MCP benchmark: what the MCP face costs a search, against the same retrieval in-process.

    python bench/mcp_search.py                           # the sample notes, 30 queries, 3 runs
    python bench/mcp_search.py --docs ../shared/corpus/seeds --queries 50 --runs 5

One index (built once under .ragchat/bench-mcp-NAME) served three ways, the same questions each:
`RagService.retrieve` in this process (a retrieval-only service, as the `search` tool uses),
the `search` tool over streamable HTTP (`serve.py` on loopback, its `/mcp`, one session of the
official `mcp` client) and over stdio (`python mcp_server.py`, one session). Queries are the
opening words of randomly chosen chunks (fixed seed). After a warm-up query per path, each run
asks every query of every path, the paths taking turns query by query (in rotating order), so a
busy moment of a shared machine slows them alike. The table gives the median over runs of each
path's p50 and p95 (ms) and its ratio to in-process: the median, over every query of every run,
of the query's time on the path over its time in-process (paired, so that the load of the
moment cancels). Goal: <= 1.2x. Results: bench/results/mcp_search.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_settings  # noqa: E402
from llms.local_server import free_port, wait_until_serving  # noqa: E402
from services.answering import AnswerOptions  # noqa: E402
from services.container import ServiceHub  # noqa: E402

BASELINE = "in-process RagService.retrieve"
K = 5
Search = Callable[[str], Awaitable[object]]


def main() -> None:
    args = _parse_args()
    docs = args.docs.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "config.toml"
        index = REPO / ".ragchat" / f"bench-mcp-{docs.name}"
        config.write_text(f'[paths]\ndocuments = "{docs}"\nindex = "{index}"\n', encoding="utf-8")
        ServiceHub(load_settings(config)).ingest(on_message=lambda _: None)
        hub = ServiceHub(load_settings(config))  # opens the index from disk, as the servers do
        report = anyio.run(_measure, hub, config, Path(scratch), args)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "mcp_search.json").write_text(json.dumps(report, indent=1))
    print(
        f"{report['date']} · {report['machine']} · {report['chunks']} chunks, "
        f"{report['queries']} queries, k={K}, {report['runs']} runs"
    )
    print("| path | p50 ms | p95 ms | ratio to in-process (paired median) |")
    print("| --- | ---: | ---: | ---: |")
    for name, row in report["paths"].items():
        print(f"| {name} | {row['p50_ms']} | {row['p95_ms']} | {row['ratio']}x |")


async def _measure(hub: ServiceHub, config: Path, scratch: Path, args) -> dict:
    service = hub.service(with_model=False)
    chunks = list(service.knowledge_base.documents())
    random.seed(7)
    queries = [d.page_content[:80] for d in random.sample(chunks, min(args.queries, len(chunks)))]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(REPO / "serve.py"), "--config", str(config), "--port", str(port)],
        stdout=open(scratch / "serve.log", "wb"),  # noqa: SIM115 - the process owns it
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/health", server, 120)
        async with AsyncExitStack() as stack:
            over_http = await stack.enter_async_context(Client(f"http://127.0.0.1:{port}/mcp"))
            stdio = StdioServerParameters(
                command=sys.executable,
                args=[str(REPO / "mcp_server.py"), "--config", str(config)],
                env={"PATH": os.environ.get("PATH", "")},
            )
            over_stdio = await stack.enter_async_context(Client(stdio))

            async def retrieve(query: str) -> object:
                return service.retrieve(query, AnswerOptions(k=K))

            def tool(client: Client) -> Search:
                async def search(query: str) -> object:
                    found = await client.call_tool("search", {"query": query, "k": K})
                    assert not found.is_error, found.content
                    return found

                return search

            paths: dict[str, Search] = {
                BASELINE: retrieve,
                "MCP search, streamable HTTP": tool(over_http),
                "MCP search, stdio": tool(over_stdio),
            }
            for search in paths.values():
                await search(queries[0])  # warm-up: BM25 matrix, caches, the session
            runs = [await _run(paths, queries) for _ in range(args.runs)]
    finally:
        server.terminate()
        server.wait(30)
    return {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "command": "python bench/mcp_search.py " + " ".join(sys.argv[1:]),
        "docs": str(args.docs),
        "chunks": len(chunks),
        "queries": len(queries),
        "runs": args.runs,
        "paths": {name: _summary(name, runs) for name in paths},
    }


async def _run(paths: dict[str, Search], queries: list[str]) -> dict[str, list[float]]:
    """One run: every query on every path, taking turns; each path's times (ms), by query."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for number, query in enumerate(queries):
        for name in names[number % len(names) :] + names[: number % len(names)]:
            started = time.perf_counter()
            await paths[name](query)
            times[name].append((time.perf_counter() - started) * 1000)
    return times


def _summary(name: str, runs: list[dict[str, list[float]]]) -> dict:
    p50s = [statistics.median(run[name]) for run in runs]
    p95s = [sorted(run[name])[int(0.95 * (len(run[name]) - 1))] for run in runs]
    ratios = [
        taken / base for run in runs for taken, base in zip(run[name], run[BASELINE], strict=True)
    ]
    return {
        "p50_ms": round(statistics.median(p50s), 2),
        "p95_ms": round(statistics.median(p95s), 2),
        "p50_ms_runs": [round(p50, 2) for p50 in p50s],
        "ratio": round(statistics.median(ratios), 2),
    }


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=REPO / "data" / "sample")
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3, help="runs per path (medians reported)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
