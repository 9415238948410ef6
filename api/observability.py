"""What an operator's tools read from the API: each request traced (OpenTelemetry's FastAPI
instrumentation, so an answer's span is a child of its request's), and `GET /metrics` in
Prometheus' text format, behind the same keys as every other route (`api.auth`).

    app = create_app(hub)
    observe(app, hub)
"""

from __future__ import annotations

import time

from fastapi import Depends, FastAPI, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import person_of
from observability.metrics import QUEUE_LENGTH, REQUEST_SECONDS, REQUESTS
from services.container import ServiceHub

UNMATCHED = "unmatched"
"""The route label of a request no route matched: one label, however many paths are tried."""


def observe(app: FastAPI, hub: ServiceHub) -> None:
    """Trace `app`'s requests, count them, and serve `/metrics` (see module)."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/metrics")
    app.add_middleware(RequestMetrics)

    @app.get("/metrics", dependencies=[Depends(person_of)], include_in_schema=False)
    def metrics() -> Response:
        """Every ragchat metric (observability.metrics), the model's line as it is now."""
        QUEUE_LENGTH.set(len(hub.queue))
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """ASGI middleware: each HTTP request counted by method, route template and status code,
    and timed to its response's start (a streamed answer's first byte)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception that escaped every handler

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                REQUEST_SECONDS.labels(scope["method"], _route(scope)).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            REQUESTS.labels(scope["method"], _route(scope), str(status)).inc()


def _route(scope: Scope) -> str:
    """The matched route's path template (`/v1/files/{name}`), never the raw path."""
    route = scope.get("route")
    return getattr(route, "path", None) or UNMATCHED
