"""`/mcp` on `serve.py`: the MCP server (`api.mcp`) over streamable HTTP, behind the same keys
as the OpenAI-compatible API.

Every HTTP request to `/mcp` is identified by the API's own `api.auth.identifier` before the MCP
SDK sees it: with `[auth] enabled`, `Authorization: Bearer KEY` names the person every tool call
of that request acts as; without auth, one of `api.keys` (if any) lets the local operator in. A
wrong or missing key is refused with 401 and OpenAI's error shape, as on `/v1`. A server that
needs no key listens on loopback only (`serve.py`), so there the SDK's DNS-rebinding protection
stays on: a web page cannot make a browser call it by another host name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import Identify
from api.errors import error_body
from api.mcp import mcp_server
from errors import RagchatError
from services.container import ServiceHub
from services.people import Person

PATH = "/mcp"
_PERSON = "ragchat_person"
"""The request-state key that carries who the request acts as, from the guard to the tools."""
_LOOPBACK = TransportSecuritySettings(
    allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
    allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
)


class McpEndpoint:
    """The ASGI endpoint at PATH: identify the caller (401 if the key is wrong), then hand the
    request to the SDK's streamable HTTP transport. `lifespan` runs the SDK's session manager:
    the app must enter it (`create_app` does)."""

    def __init__(self, hub: ServiceHub, identify: Identify) -> None:
        self._identify = identify
        server = mcp_server(hub, _caller)
        keyed = hub.settings.auth.enabled or bool(hub.settings.api.keys)
        self._transport: ASGIApp = server.streamable_http_app(
            streamable_http_path=PATH,
            transport_security=(
                TransportSecuritySettings(enable_dns_rebinding_protection=False)
                if keyed
                else _LOOPBACK
            ),
        )
        self._sessions = server.session_manager

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        async with self._sessions.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:  # the accounts file is SQLite: off the event loop
            person = await anyio.to_thread.run_sync(self._identify, Request(scope))
        except RagchatError as err:
            body = error_body(err.http_status, err.code, err.message)
            headers = {"WWW-Authenticate": "Bearer"} if err.http_status == 401 else None
            await JSONResponse(body, err.http_status, headers)(scope, receive, send)
            return
        scope.setdefault("state", {})[_PERSON] = person
        await self._transport(scope, receive, send)


def _caller(ctx: Context) -> Person:
    """The person the HTTP request carrying this call was identified as (`McpEndpoint`)."""
    return getattr(ctx.request_context.request.state, _PERSON)
