"""An ASGI app served on a free loopback port by uvicorn in a thread of this process, for the
benchmarks and tests that hand the API a stand-in chat model (a subprocess could not take one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from llms.local_server import free_port

START_SECONDS = 30


@contextmanager
def served(app: Any, log_level: str = "warning") -> Iterator[str]:
    """`app` on 127.0.0.1 until the block ends; its `/v1` URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, access_log=True)
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(START_SECONDS)
