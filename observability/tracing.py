"""The process's OpenTelemetry set-up, from `[tracing]`: which exporter the spans go to.

    configure_tracing(settings.tracing)   # once, at the face (serve.py, app.py, ingest.py, ...)

Library code only asks `opentelemetry.trace.get_tracer(__name__)`: until a face configures a
provider, its spans are the API's no-ops, which cost next to nothing (`exporter = "none"`, the
default, installs nothing). Exporters come from a registry keyed by the config value.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)

from config import TracingSettings

_lock = threading.Lock()
_configured: TracerProvider | None = None


def _console(_settings: TracingSettings) -> SpanProcessor:
    """Each span printed as JSON when it ends (for a look, or a log collector)."""
    # stderr: stdout carries mcp_server.py's protocol and ask.py's JSON
    return SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr))


def _otlp(settings: TracingSettings) -> SpanProcessor:
    """Spans batched to a collector over OTLP/HTTP, off the request's thread."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = {name: value.get_secret_value() for name, value in settings.headers.items()}
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.endpoint, headers=headers))


EXPORTERS: dict[str, Callable[[TracingSettings], SpanProcessor] | None] = {
    "none": None,
    "console": _console,
    "otlp": _otlp,
}
"""`tracing.exporter` -> how its spans leave the process (None: no provider at all)."""


def configure_tracing(settings: TracingSettings) -> TracerProvider | None:
    """Install the tracer provider `settings` asks for, once per process (later calls return
    the first one: OpenTelemetry's global provider cannot be replaced)."""
    global _configured
    with _lock:
        if _configured is not None:
            return _configured
        make = EXPORTERS[settings.exporter]
        if make is None:
            return None
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.service_name}))
        provider.add_span_processor(make(settings))
        trace.set_tracer_provider(provider)
        _configured = provider
        return provider
