"""llama-cpp-python's OpenAI-compatible server on 127.0.0.1, for the openai backend's tests and
the answer benchmark: a real server speaking the OpenAI API, with no network."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def llama_server(
    model_path: Path,
    log: IO[bytes] | int = subprocess.DEVNULL,
    api_key: str | None = None,
    n_ctx: int = 4096,
    startup_seconds: float = 180,
) -> Iterator[str]:
    """Serve `model_path` (alias `local`) on a free port and yield its base URL, ending in /v1.
    Its log goes to `log`: a pipe nobody reads would fill up and stall it."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--model_alias",
        "local",
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        "2",
        "--n_batch",
        "512",
    ]
    if api_key:
        command += ["--api_key", api_key]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + startup_seconds
    try:
        while True:
            try:
                urllib.request.urlopen(
                    urllib.request.Request(f"{base_url}/models", headers=headers), timeout=2
                )
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama_cpp.server did not start (see its log)") from None
                time.sleep(0.5)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
