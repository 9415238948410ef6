"""`python ingest.py` follows the system locale: with LANG=zh_CN.UTF-8 its report and its errors
are Chinese, with LANG=C English (real embedder, one small note)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO


def ingest(lang: str, config: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "LANG": lang}
    environment.pop("LC_ALL", None)
    environment.pop("LC_MESSAGES", None)
    return subprocess.run(
        [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def test_ingest_speaks_chinese_under_a_chinese_locale_and_english_otherwise(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text("困惑度衡量语言模型预测文本的能力。", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{tmp_path / "index"}"\n', encoding="utf-8"
    )
    report = ingest("zh_CN.UTF-8", config)
    assert report.returncode == 0, report.stderr
    assert "新增" in report.stdout and "note.md (1 个文本块)" in report.stdout
    assert "文件：1 新增" in report.stdout and "用时" in report.stdout
    refused = ingest("zh_CN.UTF-8", config, "--kb", "nosuch")
    assert refused.returncode == 1
    assert refused.stderr.startswith("错误：没有名为 'nosuch' 的知识库")
    english = ingest("C.UTF-8", config, "--kb", "nosuch")
    assert english.stderr.startswith("error: no knowledge base named 'nosuch'")
