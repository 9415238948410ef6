"""A Milvus-protocol server on 127.0.0.1: Milvus Lite's server mode (`python -m milvus_lite
server`), its engine in a process of its own, reached by `http://127.0.0.1:PORT` as any Milvus
server is. The replica tests and `bench/scale.py` start one."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from llms.local_server import free_port

STARTUP_S = 60.0


@contextmanager
def milvus_server(data: Path, log: Path | None = None) -> Iterator[tuple[str, int]]:
    """A Milvus Lite server over the data folder `data` while the block runs: its URI and the
    server's process id (its memory is its own); stopped (Ctrl-C, as a user stops it) after."""
    port = free_port()
    output = open(log or data.with_suffix(".log"), "wb")  # noqa: SIM115 - the process owns it
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data)]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(uri, process)
        yield uri, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()


def wait_until_answering(uri: str, process: subprocess.Popen) -> None:
    """Until the server lists its collections; an error if it exits or takes `STARTUP_S`."""
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Milvus Lite server exited with {process.returncode}")
        try:
            client = MilvusClient(uri=uri, timeout=2)
            client.list_collections()
            client.close()
            return
        except MilvusException:
            time.sleep(0.2)
    raise RuntimeError(f"the Milvus Lite server at {uri} did not answer in {STARTUP_S:.0f} s")
