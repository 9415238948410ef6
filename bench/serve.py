"""Load on ragchat's HTTP API: many clients, one local model, everything on loopback.

    python bench/serve.py                        # 1, 2, 4, 8 clients x 10 questions, 3 repeats
    python bench/serve.py --clients 1 4 --questions 4 --repeats 1

`serve.py` runs as its own process over the sample notes with the bundled model (greedy); each
client is a thread with the official `openai` client, streaming, asking its own sequence of the
sample questions (so the model's prompt cache is not flattered by repeats). Per concurrency
level: answers per minute, time to first token p50/p95 (queueing included: that is what a user
waits), errors (must be 0). The server's peak RSS is sampled throughout. The API's own cost is
measured in the same run: TTFT of one client through the API against `RagService.stream` in
this process, the same questions, alternating, medians over the repeats. Everything is bounded:
no new repeat starts after --max-seconds, a 300 s timeout per request.
Results: bench/results/serve.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_settings  # noqa: E402
from evaluation.scoring import read_qa  # noqa: E402
from llms.local_server import free_port, wait_until_serving  # noqa: E402
from services.container import ServiceHub  # noqa: E402

QA = REPO / "tests" / "data" / "sample_qa.jsonl"
DOCS = REPO / "data" / "sample"
INDEX = REPO / ".ragchat" / "bench-serve-index"


def main() -> None:
    args = _parse_args()
    questions = [item.question for item in read_qa(QA)]
    deadline = time.monotonic() + args.max_seconds
    config = _config()
    hub = ServiceHub(load_settings(config))
    hub.ingest(on_message=lambda _: None)
    with RunningServer(config) as (base_url, rss):
        levels: dict[int, list[dict]] = {c: [] for c in args.clients}
        overhead: list[dict] = []
        service = hub.service()
        for repeat in range(args.repeats):
            if time.monotonic() > deadline:
                print(f"--max-seconds {args.max_seconds} reached: {repeat} repeats done")
                break
            overhead.append(_overhead(service, base_url, questions[: args.questions]))
            for clients in args.clients:
                levels[clients].append(_level(base_url, questions, clients, args.questions))
                print(f"repeat {repeat + 1}: {clients} clients: {levels[clients][-1]}", flush=True)
        peak_rss_mb = rss.peak / 1e6
    report = _report(levels, overhead, peak_rss_mb)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report["summary"], indent=1))


def _config() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ragchat-bench-serve-"))
    model = load_settings().llm.profiles["local"].model_path
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{DOCS}"\nindex = "{INDEX}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{model}"\ntemperature = 0.0\n',
        encoding="utf-8",
    )
    return config


class _PeakRss:
    """Samples the server process's resident memory every 0.2 s; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class RunningServer:
    """serve.py on a free loopback port, for the length of a `with` block."""

    def __init__(self, config: Path) -> None:
        self.config = config

    def __enter__(self) -> tuple[str, _PeakRss]:
        port = free_port()
        command = [sys.executable, str(REPO / "serve.py"), "--config", str(self.config)]
        self.process = subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_until_serving(f"{base}/health", self.process, 120)
        self.rss = _PeakRss(self.process.pid)
        return f"{base}/v1", self.rss

    def __exit__(self, *_exc: object) -> None:
        self.rss.stop()
        self.process.terminate()
        self.process.wait(30)


def _ask(base_url: str, question: str) -> dict:
    """One streamed question: TTFT and total seconds, or the error."""
    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0, timeout=300)
    started = time.perf_counter()
    first = None
    try:
        stream = client.chat.completions.create(
            model="local", messages=[{"role": "user", "content": question}], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content and first is None:
                first = time.perf_counter()
    except openai.OpenAIError as err:
        return {"error": str(err)}
    finished = time.perf_counter()
    return {"ttft_s": (first or finished) - started, "total_s": finished - started}


def _level(base_url: str, questions: list[str], clients: int, per_client: int) -> dict:
    """`clients` threads, each asking `per_client` questions one after another."""

    def client(number: int) -> list[dict]:
        mine = [questions[(number * 3 + j) % len(questions)] for j in range(per_client)]
        return [_ask(base_url, q) for q in mine]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        rows = [row for rows in pool.map(client, range(clients)) for row in rows]
    wall = time.perf_counter() - started
    answered = [r for r in rows if "error" not in r]
    ttfts = sorted(r["ttft_s"] for r in answered)
    return {
        "answers": len(answered),
        "errors": len(rows) - len(answered),
        "wall_s": round(wall, 2),
        "answers_per_min": round(60 * len(answered) / wall, 2),
        "ttft_p50_s": round(statistics.median(ttfts), 2) if ttfts else None,
        "ttft_p95_s": round(ttfts[math.ceil(0.95 * len(ttfts)) - 1], 2) if ttfts else None,
    }


def _overhead(service, base_url: str, questions: list[str]) -> dict:
    """Median TTFT of the same questions in-process and through the API, alternating."""
    in_process, through_api = [], []
    for question in questions:
        started = time.perf_counter()
        first = None
        for event in service.stream(question):
            if isinstance(event, str) and first is None:
                first = time.perf_counter()
        in_process.append((first or time.perf_counter()) - started)
        through_api.append(_ask(base_url, question).get("ttft_s", float("nan")))
    return {
        "in_process_ttft_p50_s": statistics.median(in_process),
        "api_ttft_p50_s": statistics.median(through_api),
    }


def _report(levels: dict[int, list[dict]], overhead: list[dict], peak_rss_mb: float) -> dict:
    def median(rows: list[dict], key: str) -> float | None:
        values = [r[key] for r in rows if r[key] is not None]
        return round(statistics.median(values), 2) if values else None

    per_level = {
        clients: {
            "answers_per_min": median(rows, "answers_per_min"),
            "ttft_p50_s": median(rows, "ttft_p50_s"),
            "ttft_p95_s": median(rows, "ttft_p95_s"),
            "errors": sum(r["errors"] for r in rows),
        }
        for clients, rows in levels.items()
    }
    lowest, highest = min(levels), max(levels)
    in_process = statistics.median(o["in_process_ttft_p50_s"] for o in overhead)
    api = statistics.median(o["api_ttft_p50_s"] for o in overhead)
    summary = {
        "levels": per_level,
        f"throughput_{highest}_vs_{lowest}_clients": round(
            per_level[highest]["answers_per_min"] / per_level[lowest]["answers_per_min"], 2
        ),
        "peak_rss_mb": round(peak_rss_mb),
        "ttft_in_process_p50_s": round(in_process, 3),
        "ttft_api_p50_s": round(api, 3),
        "api_over_in_process": round(api / in_process, 3),
        "repeats": len(overhead),
    }
    return {"summary": summary, "runs": {"levels": levels, "overhead": overhead}}


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--questions", type=int, default=10, help="questions per client")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=3600)
    return parser.parse_args()


if __name__ == "__main__":
    main()
