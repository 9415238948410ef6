"""The CLIs follow the system locale: with LANG=zh_CN.UTF-8 `ingest.py`'s report and errors and
`ask.py`'s sources and model error are Chinese, with LANG=C English (real embedder, one small
note, and a chat model server nobody runs: retrieval works, the model cannot be reached)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llms.local_server import free_port
from tests.support.paths import REPO


def run(script: str, lang: str, config: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "LANG": lang}
    environment.pop("LC_ALL", None)
    environment.pop("LC_MESSAGES", None)
    return subprocess.run(
        [sys.executable, str(REPO / script), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """A config over one Chinese note whose chat model is an OpenAI-compatible server on a
    loopback port nobody listens on, and the report of its first ingest, run in Chinese."""
    folder = tmp_path_factory.mktemp("i18n_cli")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("困惑度衡量语言模型预测文本的能力。", encoding="utf-8")
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{folder / "index"}"\n'
        '[retrieval]\ntranslate_query = "off"\n'
        '[llm]\nprofile = "away"\n'
        '[llm.profiles.away]\nbackend = "openai"\napi_key = "any"\nmax_retries = 0\n'
        f'base_url = "http://127.0.0.1:{free_port()}/v1"\n',
        encoding="utf-8",
    )
    return config, run("ingest.py", "zh_CN.UTF-8", config, "--quiet")


def test_ingest_speaks_chinese_under_a_chinese_locale_and_english_otherwise(indexed) -> None:
    config, report = indexed
    assert report.returncode == 0, report.stderr
    assert "新增" in report.stdout and "note.md (1 个文本块)" in report.stdout
    assert "文件：1 新增" in report.stdout and "用时" in report.stdout
    refused = run("ingest.py", "zh_CN.UTF-8", config, "--kb", "nosuch")
    assert refused.returncode == 1
    assert refused.stderr.startswith("错误：没有名为 'nosuch' 的知识库")
    english = run("ingest.py", "C.UTF-8", config, "--kb", "nosuch")
    assert english.stderr.startswith("error: no knowledge base named 'nosuch'")


def test_ask_lists_its_sources_and_the_models_error_in_chinese(indexed) -> None:
    config, _ = indexed
    asked = run("ask.py", "zh_CN.UTF-8", config, "困惑度衡量什么？")
    assert asked.returncode == 2, asked.stderr
    assert "\n来源：\n" in asked.stdout and "note.md" in asked.stdout and "（得分 " in asked.stdout
    assert asked.stderr.strip().endswith("错误：无法连接服务器：它是否在运行？base_url 是否正确？")
