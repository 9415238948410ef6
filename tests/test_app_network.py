"""`streamlit run app.py` serves this machine only: the committed `.streamlit/config.toml` binds
127.0.0.1 wherever the command is started from, and a server told to listen anywhere else is
stopped by the app before it shows anything, unless sign-in is on (`[auth] enabled`).

Real Streamlit servers in subprocesses; the listening sockets are read from the process itself.
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from services.exposure import exposure_problem, is_loopback

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def streamlit_server(cwd: Path, *flags: str) -> Iterator[tuple[subprocess.Popen, int]]:
    """`streamlit run app.py` started from `cwd` with `flags`, stopped afterwards."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py")]
        + ["--server.port", str(port), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    try:
        yield server, port
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


def listening_addresses(pid: int, port: int, seconds: float = 60) -> list[str]:
    """The addresses the process listens on at `port`, once it listens at all."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [
            conn.laddr.ip
            for conn in psutil.Process(pid).net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
        ]
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"nothing listens on port {port} after {seconds} s")


@pytest.mark.heavy
def test_streamlit_run_listens_on_loopback_only(tmp_path: Path) -> None:
    """Started from another folder with no address given: the config beside app.py applies."""
    with streamlit_server(tmp_path) as (server, port):
        addresses = listening_addresses(server.pid, port)
        assert addresses and all(ipaddress.ip_address(ip).is_loopback for ip in addresses)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as r:
            assert r.status == 200


@pytest.mark.heavy
def test_app_refuses_to_serve_beyond_this_machine(tmp_path: Path) -> None:
    """Told to listen on every interface, the server exits with one line naming the setting as
    soon as a session runs the app (here Streamlit's script health check), showing nothing."""
    flags = ("--server.address", "0.0.0.0", "--server.scriptHealthCheckEnabled", "true")
    with streamlit_server(tmp_path, *flags) as (server, port):
        assert listening_addresses(server.pid, port) == ["0.0.0.0"]
        with pytest.raises(OSError):  # the connection drops: the process is gone
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/script-health-check")
        assert server.wait(timeout=60) == 1
        errors = server.stderr.read().decode().strip().splitlines()
    assert errors[-1].startswith("error: refusing to serve the app on 0.0.0.0")
    assert "server.address" in errors[-1]


@pytest.mark.heavy
def test_with_sign_in_on_the_app_may_serve_beyond_this_machine(tmp_path: Path) -> None:
    """With `[auth] enabled` every page asks who you are first: the same server stays up on
    every interface after a session has run the app."""
    config = tmp_path / "config.toml"
    config.write_text("[auth]\nenabled = true\n", encoding="utf-8")
    flags = ("--server.address", "0.0.0.0", "--server.scriptHealthCheckEnabled", "true")
    with streamlit_server(tmp_path, *flags, "--", "--config", str(config)) as (server, port):
        assert listening_addresses(server.pid, port) == ["0.0.0.0"]
        url = f"http://127.0.0.1:{port}/_stcore/script-health-check"
        with urllib.request.urlopen(url, timeout=60) as response:
            assert response.status == 200
        time.sleep(1)
        assert server.poll() is None


def test_exposure_rule() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("example")
    assert exposure_problem("127.0.0.2", False, "it", "fix") is None
    assert exposure_problem("0.0.0.0", True, "it", "fix") is None
    assert "every interface" in exposure_problem("", False, "it", "fix")
