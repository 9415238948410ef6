"""ragchat's command-line faces started as a user starts them, each in a process of its own:
`ask.py`, `ingest.py`, `serve.py` (driven by the official `openai` client), and the config
files they read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from config import StoreSettings
from llms.local_server import free_port, wait_until_serving
from tests.support.paths import MODEL, REPO

KEY = "test-api-key"


def write_config(folder: Path, docs: Path, max_upload_mb: float = 20) -> Path:
    """A config.toml over `docs` with the bundled model (greedy) and a profile without a key."""
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{folder / "index"}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{MODEL}"\n'
        "temperature = 0.0\n"
        '[llm.profiles.nokey]\nbackend = "openai"\n'
        f"[ingest]\nmax_upload_mb = {max_upload_mb}\n",
        encoding="utf-8",
    )
    return config


def store_config(store: StoreSettings) -> str:
    """The `[store]` section of a config file for a subprocess."""
    return f'[store]\nbackend = "{store.backend}"\nuri = "{store.uri}"\n'


def ask_cli(*args: str, config: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "ask.py"), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def start_server(config: Path, log: Path, keys: list[str]) -> tuple[subprocess.Popen, str]:
    """`serve.py` on a free loopback port with `keys`; the process and its `/v1` URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["RAGCHAT_API__KEYS"] = json.dumps(keys)
    process = subprocess.Popen(
        [sys.executable, str(REPO / "serve.py"), "--config", str(config), "--port", str(port)],
        stdout=open(log, "wb"),  # noqa: SIM115 - the process owns it
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/health", process, 120)
    except RuntimeError as err:
        process.kill()
        pytest.fail(f"{err}: {log.read_text()[-2000:]}")
    return process, f"{base}/v1"


def ingest_cli(config: Path) -> None:
    """`ingest.py --quiet` on `config`, in a process of its own (fails the test if it fails)."""
    subprocess.run(
        [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config)],
        check=True,
        capture_output=True,
        timeout=300,
    )


def index_and_serve(config: Path, folder: Path) -> tuple[subprocess.Popen, str]:
    """`ingest.py` then `serve.py` (with the test key) on `config`."""
    ingest_cli(config)
    return start_server(config, folder / "serve.log", [KEY])


def client(base_url: str, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=300)
