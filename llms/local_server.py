"""llama-cpp-python's OpenAI-compatible server on 127.0.0.1, for the openai backend's tests and
the answer benchmark: a real server speaking the OpenAI API, with no network; and the waiting
for a local server (that one, or ragchat's own `serve.py`) to answer."""

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
    try:
        wait_until_serving(f"{base_url}/models", process, startup_seconds, headers)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_serving(
    url: str, process: subprocess.Popen, seconds: float, headers: dict[str, str] | None = None
) -> None:
    """Poll `url` until it answers; RuntimeError if `process` exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{' '.join(map(str, process.args[:3]))} did not start"
                ) from None
            time.sleep(0.3)
