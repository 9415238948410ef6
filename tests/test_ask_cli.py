"""`python ask.py` as a user runs it, on the real local model."""

import json
import subprocess
import sys

from tests.support.paths import REPO, SAMPLE_DIR
from tests.support.processes import ask_cli


def config_for(tmp_path):
    config = tmp_path / "config.toml"
    model = REPO / ".ragchat" / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    config.write_text(
        f'[paths]\ndocuments = "{SAMPLE_DIR}"\nindex = "{tmp_path / "index"}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{model}"\n'
        '[llm.profiles.nokey]\nbackend = "openai"\n',
        encoding="utf-8",
    )
    return config


def test_no_index_tells_how_to_build_it(tmp_path):
    result = ask_cli("什么是困惑度？", config=config_for(tmp_path), cwd=tmp_path)
    assert result.returncode == 1
    assert "build it with `python ingest.py`" in result.stderr and "Traceback" not in result.stderr


def test_json_answer_streamed_answer_and_model_errors(tmp_path):
    config = config_for(tmp_path)
    subprocess.run(
        [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config)], check=True
    )
    result = ask_cli("--json", "--k", "3", "什么是困惑度？", config=config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["text"].strip() and len(answer["sources"]) <= 3 and not answer["error"]
    assert answer["sources"][0]["source"] == "ngram-language-models.md"

    streamed = ask_cli("What does LoRA train?", config=config, cwd=tmp_path)
    assert streamed.returncode == 0 and "Sources:" in streamed.stdout
    assert "pretraining-finetuning.md" in streamed.stdout

    env_free = ask_cli("--profile", "nokey", "hi", config=config, cwd=tmp_path)
    assert env_free.returncode == 2 and "no OpenAI API key" in env_free.stderr
    unknown = ask_cli("--profile", "nope", "hi", config=config, cwd=tmp_path)
    assert unknown.returncode == 2 and "available: local, nokey" in unknown.stderr
