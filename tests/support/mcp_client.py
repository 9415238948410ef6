"""The official `mcp` client, connected as a user's MCP client connects: to `python
mcp_server.py` over stdio, or to `serve.py`'s `/mcp` over streamable HTTP with an API key. One
connection serves a whole test module: it lives in a thread of its own (anyio's blocking portal),
and tests call it synchronously."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.support.paths import REPO


class McpClient:
    """A connected `mcp.Client`, called synchronously."""

    def __init__(self, portal: BlockingPortal, client: Client) -> None:
        self._portal, self._client = portal, client

    def tools(self) -> dict[str, Any]:
        """The listed tools by name."""
        listed = self._portal.call(self._client.list_tools)
        return {tool.name: tool for tool in listed.tools}

    def call(self, name: str, **arguments: Any) -> CallToolResult:
        return self._portal.call(self._client.call_tool, name, arguments)

    def result(self, name: str, **arguments: Any) -> dict:
        """A tool's structured result; the test fails with the tool's message if it failed."""
        called = self.call(name, **arguments)
        assert not called.is_error, called.content[0].text
        return called.structured_content

    def read(self, uri: str) -> str:
        """A resource's text."""
        return self._portal.call(self._client.read_resource, uri).contents[0].text


def stdio(config: Path, env: dict[str, str] | None = None) -> AbstractContextManager[McpClient]:
    """`python mcp_server.py --config CONFIG` started by the client, as an MCP client's config
    line starts it (`env`: extra environment variables)."""
    command = StdioServerParameters(
        command=sys.executable,
        args=[str(REPO / "mcp_server.py"), "--config", str(config)],
        env=env,
        cwd=REPO,
    )
    return _connected(lambda: Client(command, read_timeout_seconds=600))


def http(url: str, key: str) -> AbstractContextManager[McpClient]:
    """`serve.py`'s MCP endpoint `url` (…/mcp), sending `key` as the API does."""
    headers = {"Authorization": f"Bearer {key}"}

    def connect() -> Client:
        session = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=600))
        return Client(streamable_http_client(url, http_client=session))

    return _connected(connect)


@contextmanager
def _connected(connect) -> Iterator[McpClient]:
    with start_blocking_portal() as portal:
        client = portal.call(connect)
        with portal.wrap_async_context_manager(client) as connected:
            yield McpClient(portal, connected)
