"""Where an answer's (or an ingest's) time went: each stage is an OpenTelemetry span and, at
the same time, a (name, seconds) pair kept for the `Answer`, so every face can show the
breakdown without a collector.

    record = Record(include_content=settings.tracing.include_content)
    with record.span(tracer, "answer", {"ragchat.kb": kb}):  # the parent of the stages
        with stage(tracer, "dense", {"ragchat.passages": 30}):
            ...
    record.stages  # [("dense", 0.004), ...]

`stage` finds the current `Record` in a context variable, as OpenTelemetry finds the current
span: both travel into LangChain's worker threads (which copy the context) and are put back
for each step of a generator that runs in another thread (`Record.within`). The stages below
the answer span are its direct children, so their durations add up to the answer's.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from opentelemetry import context, trace
from opentelemetry.trace import Span, Tracer
from opentelemetry.util.types import AttributeValue

Attributes = dict[str, AttributeValue]

_current: ContextVar[Record | None] = ContextVar("ragchat_stage_record", default=None)


@dataclass
class Record:
    """The stages of one answer or ingest, in the order they ended, and whether its spans may
    hold question and document text (`tracing.include_content`)."""

    include_content: bool = False
    stages: list[tuple[str, float]] = field(default_factory=list)
    root: Span = field(default_factory=lambda: trace.INVALID_SPAN)
    """The answer's (or ingest's) span, parent of the stages."""

    def start(self, tracer: Tracer, name: str, attributes: Attributes | None = None) -> None:
        """Open the root span under the current context (a request's span, say)."""
        self.root = tracer.start_span(name, attributes=attributes)

    def end(self) -> None:
        """End the root span, once (an answer ends it before its last event is read)."""
        if self.root.is_recording():
            self.root.end()

    @contextmanager
    def span(self, tracer: Tracer, name: str, attributes: Attributes | None = None):
        """The root span, open and current (with this record) for the block."""
        self.start(tracer, name, attributes)
        try:
            with self.active():
                yield self.root
        finally:
            self.end()

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this record and its root span current for a block that runs no generator step
        of its own across threads (attach and detach in one context)."""
        token = _current.set(self)
        with trace.use_span(self.root, end_on_exit=False):
            try:
                yield
            finally:
                _current.reset(token)

    def within(self, steps: Generator) -> Iterator:
        """The items of `steps`, each step taken with this record current (how a generator
        that runs on in another thread keeps its stages under the root span), and `steps`
        closed however the loop ends, so a stopped answer stops the model's generation too."""
        try:
            while True:
                with self.active():
                    try:
                        item = next(steps)
                    except StopIteration:
                        return
                yield item
        finally:
            steps.close()

    def add(
        self,
        tracer: Tracer,
        name: str,
        started: float,
        ended: float,
        attributes: Attributes | None = None,
    ) -> None:
        """A stage timed by the caller (perf_counter seconds), such as a wait between the steps
        of a generator, recorded as a child span of the root with those times."""
        now_ns, now = time.time_ns(), time.perf_counter()
        parent = trace.set_span_in_context(self.root, context.Context())
        span = tracer.start_span(
            name,
            context=parent,
            attributes=attributes,
            start_time=now_ns - int((now - started) * 1e9),
        )
        span.end(end_time=now_ns - int((now - ended) * 1e9))
        self.stages.append((name, ended - started))

    def content(self, span: Span, key: str, text: str) -> None:
        """Put text (a question, a passage, an answer) on a span only when allowed."""
        if self.include_content:
            span.set_attribute(key, text)


def current() -> Record:
    """The record of the answer or ingest being run, or a throwaway one outside any."""
    return _current.get() or Record()


@contextmanager
def stage(tracer: Tracer, name: str, attributes: Attributes | None = None) -> Iterator[Span]:
    """A span for the block, current within it, and its duration kept on the current record
    (outside any answer or ingest, only the span)."""
    record = _current.get()
    started = time.perf_counter()
    with tracer.start_as_current_span(name, attributes=attributes) as span:
        try:
            yield span
        finally:
            if record is not None:
                record.stages.append((name, time.perf_counter() - started))
