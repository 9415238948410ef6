"""Traces on real parts, recorded by the OpenTelemetry SDK's own in-memory exporter: an
answer is one span with its stages as children, in order; an ingest has its per-file stages;
no question or document text leaves unless `tracing.include_content` says so. The wiring runs
over fake chat models in milliseconds; one answer goes through the API (uvicorn on 127.0.0.1,
the official `openai` client) with the real bundled model, whose stages add up to the answer."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from api.app import create_app
from api.observability import observe
from config import RetrievalSettings, Settings, TracingSettings, load_settings
from evaluation.served import served
from index.knowledge_base import KnowledgeBase
from llms.queue import ModelQueue
from services.answering import Answer, RagService
from services.container import ServiceHub
from tests.support.fakes import fake_models
from tests.support.paths import SAMPLE_DIR
from tests.support.processes import KEY, client, start_server, write_config

STAGES = [
    "queue",
    "rewrite",
    "translate",
    "dense",
    "bm25",
    "fusion",
    "rerank",
    "prompt",
    "generate",
    "citations",
]
QUESTION = "困惑度为 100 是什么意思？"
HISTORY = [("什么是 n 元语言模型？", "它按前面的词预测下一个词 [1]。")]
REPLIES = ["困惑度为 100 是什么意思？", "What does a perplexity of 100 mean?"]
ANSWER = "困惑度为 100 的模型，在每个位置上好像要从 100 个等可能的词里做选择 [1]。"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (installed once, as `configure_tracing` does) with an
    in-memory exporter, stopped after this module so later tests record nothing."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    exporter.clear()
    return exporter


def answered(fake_kb: KnowledgeBase, include_content: bool) -> Answer:
    """A follow-up question, translated, answered by fake models over `fake_kb`."""
    settings = Settings(
        retrieval=RetrievalSettings(translate_query="always", answer_similarity=-1),
        tracing=TracingSettings(include_content=include_content),
    )
    models = fake_models([*REPLIES, ANSWER])
    return RagService(settings, fake_kb, "local", models, ModelQueue()).answer(QUESTION, HISTORY)


def tree(finished: list[ReadableSpan], root_name: str) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The one span named `root_name` and its children, in the order they started."""
    (root,) = [span for span in finished if span.name == root_name]
    children = [s for s in finished if s.parent and s.parent.span_id == root.context.span_id]
    return root, sorted(children, key=lambda span: span.start_time)


def texts(finished: list[ReadableSpan]) -> list[str]:
    return [v for s in finished for v in (s.attributes or {}).values() if isinstance(v, str)]


def test_an_answer_is_one_span_with_every_stage_as_a_child_in_order_and_on_the_answer(
    fake_kb, spans
):
    answer = answered(fake_kb, include_content=False)
    root, children = tree(spans.get_finished_spans(), "answer")
    assert [span.name for span in children] == STAGES
    assert [name for name, _ in answer.stages] == STAGES
    assert root.attributes["ragchat.kb"] == "default"
    assert root.attributes["ragchat.profile"] == "local"
    generate = children[STAGES.index("generate")].attributes
    assert generate["gen_ai.usage.input_tokens"] > generate["gen_ai.usage.output_tokens"] > 0
    assert generate["ragchat.first_token_s"] > 0
    for span, (name, seconds) in zip(children, answer.stages, strict=True):
        assert span.name == name
        assert (span.end_time - span.start_time) / 1e9 == pytest.approx(seconds, abs=2e-3)


def test_spans_hold_no_question_passage_or_answer_text_unless_content_is_included(fake_kb, spans):
    answer = answered(fake_kb, include_content=False)
    written = [QUESTION, REPLIES[1], answer.text[:12]] + [c.text[:12] for c in answer.sources]
    assert not [t for t in texts(spans.get_finished_spans()) for w in written if w in t]
    spans.clear()
    answer = answered(fake_kb, include_content=True)
    finished = spans.get_finished_spans()
    root, children = tree(finished, "answer")
    assert root.attributes["ragchat.question"] == QUESTION
    assert ANSWER[:12] in root.attributes["ragchat.answer"]
    by_name = {span.name: span.attributes for span in children}
    assert by_name["translate"]["ragchat.translation"] == REPLIES[1]
    assert answer.sources[0].text[:12] in by_name["prompt"]["ragchat.passages.text"]


def test_an_ingest_has_load_chunk_embed_and_add_spans_for_each_file_then_one_save(
    make_settings, tmp_path, spans
):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("rag.md", "smoothing.md"):
        shutil.copy(SAMPLE_DIR / name, docs / name)
    hub = ServiceHub(make_settings(docs))
    report = hub.ingest(on_message=lambda _: None)
    root, children = tree(spans.get_finished_spans(), "ingest")
    assert root.attributes["ragchat.kb"] == "default"
    assert root.attributes["ragchat.files"] == 2
    assert root.attributes["ragchat.chunks"] == report.total_chunks > 2
    per_file = {
        number: [s.name for s in children if s.attributes.get("ragchat.file.number") == number]
        for number in (0, 1)
    }
    assert per_file == {0: ["load", "chunk", "embed", "add"], 1: ["load", "chunk", "embed", "add"]}
    assert children[-1].name == "save"
    chunked = [s.attributes["ragchat.chunks"] for s in children if s.name == "chunk"]
    assert sum(chunked) == report.total_chunks
    sizes = [s.attributes["ragchat.file.bytes"] for s in children if s.name == "load"]
    assert sorted(sizes) == sorted(path.stat().st_size for path in docs.iterdir())
    assert not [t for t in texts(spans.get_finished_spans()) if "rag.md" in t or "平滑" in t]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """The API (as serve.py builds it) over the sample notes, with the real bundled model."""
    folder = tmp_path_factory.mktemp("traced-api")
    config = write_config(folder, SAMPLE_DIR)
    short = '[retrieval]\ncontext_tokens = 160\ntranslate_query = "off"\n'
    config.write_text(config.read_text(encoding="utf-8") + short, encoding="utf-8")
    settings = load_settings(config)
    settings.llm.active.max_tokens = 24  # a short answer: its time is not what is tested
    hub = ServiceHub(settings)
    hub.ingest(on_message=lambda _: None)
    app = create_app(hub)
    observe(app, hub)
    with served(app) as base_url:
        yield base_url


def finished_request(spans: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    """The spans once the request's own has ended (just after its response was sent)."""
    deadline = time.monotonic() + 10
    while not any(span.kind == SpanKind.SERVER for span in spans.get_finished_spans()):
        assert time.monotonic() < deadline, "the request's span never ended"
        time.sleep(0.01)
    return spans.get_finished_spans()


def test_an_api_answer_is_traced_from_the_request_through_every_stage(api, spans):
    client = openai.OpenAI(base_url=api, api_key="unused", max_retries=0, timeout=300)
    reply = client.chat.completions.create(
        model="local", messages=[{"role": "user", "content": "什么是困惑度？"}]
    )
    assert reply.choices[0].message.content
    finished = finished_request(spans)
    root, children = tree(finished, "answer")
    (request,) = [s for s in finished if s.kind == SpanKind.SERVER]
    assert request.name == "POST /v1/chat/completions"
    assert root.parent.span_id == request.context.span_id
    names = [span.name for span in children]
    assert names == [name for name in STAGES if name in names]
    assert {"queue", "dense", "bm25", "fusion", "rerank", "prompt", "generate"} <= set(names)
    seconds = sum(span.end_time - span.start_time for span in children)
    assert seconds == pytest.approx(root.end_time - root.start_time, rel=0.1)
    assert not [t for t in texts(finished) if "困惑度" in t]


@pytest.fixture
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """A stand-in OpenTelemetry collector on 127.0.0.1: the OTLP/HTTP posts it received."""
    received: list[ExportTraceServiceRequest] = []

    class Collect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Collect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1/traces", received
    server.shutdown()


def test_serve_py_sends_its_spans_to_the_configured_otlp_endpoint(tmp_path, monkeypatch, collector):
    endpoint, received = collector
    monkeypatch.setenv("RAGCHAT_TRACING__EXPORTER", "otlp")
    monkeypatch.setenv("RAGCHAT_TRACING__ENDPOINT", endpoint)
    monkeypatch.setenv("RAGCHAT_TRACING__SERVICE_NAME", "ragchat-under-test")
    config = write_config(tmp_path, SAMPLE_DIR)
    process, base_url = start_server(config, tmp_path / "serve.log", [KEY])
    try:
        assert client(base_url).models.list().data
        deadline = time.monotonic() + 20  # the batch processor sends every 5 s
        while not received:
            assert time.monotonic() < deadline, "no spans arrived"
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(30)
    (resource,) = {
        attribute.value.string_value
        for request in received
        for spans in request.resource_spans
        for attribute in spans.resource.attributes
        if attribute.key == "service.name"
    }
    assert resource == "ragchat-under-test"
    names = {
        span.name
        for request in received
        for spans in request.resource_spans
        for scope in spans.scope_spans
        for span in scope.spans
    }
    assert "GET /v1/models" in names
