"""The fine-tuning loop for real, on a tiny budget: data built from the sample index with the
project's retriever, a few LoRA steps of the bundled model on the CPU, the adapter served by the
transformers backend and, exported to GGUF, by the llamacpp backend. Plus the bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from chains.rag import STOP
from config import (
    ChunkingSettings,
    EmbeddingSettings,
    LlamaCppProfile,
    PathsSettings,
    Settings,
    TransformersProfile,
)
from evaluation.scoring import squeeze
from finetune.cli import main
from finetune.data import read_examples
from index.embeddings import build_embedder
from index.updater import ingest
from llms import build_chat_model
from tests.support.paths import REPO, SAMPLE_DIR

MODELS = REPO / ".ragchat" / "models"
QA = [  # answers copied from data/sample, all found by the retriever in the top passages
    {
        "qid": "a",
        "question": "为什么三元模型看不到更早的内容？",
        "answer": "三元模型看不到三个词以前的内容",
    },
    {"qid": "b", "question": "加一平滑的分母要加上什么？", "answer": "分母加上词表大小 V"},
    {
        "qid": "c",
        "question": "多头注意力的各个头最后怎么合并？",
        "answer": "各个头的输出拼接后再做一次线性变换",
    },
]


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory) -> Path:
    """The sample notes in short windows, so that training examples stay short."""
    folder = tmp_path_factory.mktemp("index")
    settings = Settings(
        paths=PathsSettings(documents=SAMPLE_DIR, index=folder),
        chunking=ChunkingSettings(size=200, overlap=40),
    )
    ingest(settings, build_embedder(EmbeddingSettings()), show_progress=False, on_message=print)
    return folder


def write_config(folder: Path, index: Path, **finetune: object) -> Path:
    """A config for a tiny run: short passages, two training examples per step, high rate."""
    values = {
        "base_model": str(MODELS),
        "data": str(folder / "data"),
        "output": str(folder / "run"),
        "val_fraction": 0.34,
        "refusal_fraction": 0.0,
        "max_steps": 5,
        "batch_size": 2,
        "gradient_accumulation": 1,
        "learning_rate": 0.002,
        "save_steps": 2,
        **finetune,
    }
    lines = [
        "[paths]",
        f'documents = "{SAMPLE_DIR}"',
        f'index = "{index}"',
        "[chunking]",
        "size = 200",
        "overlap = 40",
        "[retrieval]",
        "k = 2",
        "context_tokens = 300",
        # the QA's answers were picked from untranslated retrieval; over the mixed sample notes
        # `auto` also searches the English translation, which pushes the multi-head answer's
        # window out of the two passages (the same-language cost docs/quality.md measures)
        'translate_query = "off"',
        "[llm.profiles.local]",
        'backend = "llamacpp"',
        f'model_path = "{MODELS / LlamaCppProfile().model_path.name}"',
        "max_tokens = 80",
        "[finetune]",
    ] + [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_qa(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), "utf-8")
    return path


@dataclass
class Interrupted:
    """What the run folder held right after Ctrl-C stopped the first training."""

    output: str
    returncode: int
    metrics: dict
    checkpoints: list[str]
    adapter_saved: bool


@pytest.fixture(scope="module")
def training(tmp_path_factory, sample_index) -> tuple[Path, Interrupted]:
    """build-data, then `finetune.py train` stopped by Ctrl-C after its first logged step and
    continued with `train --resume` to the end (5 steps): one short training serves the tests of
    the data, the trained adapter and the interruption. Returns the folder holding config, data
    and run, and what the interruption left."""
    folder = tmp_path_factory.mktemp("finetune")
    config = write_config(folder, sample_index)
    qa = write_qa(folder / "qa.jsonl", QA)
    assert main(["--config", str(config), "build-data", "--qa", str(qa)]) == 0
    process = subprocess.Popen(
        [sys.executable, "finetune.py", "--config", str(config), "train"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = ""
    for line in process.stdout:  # Trainer logs each step's loss as a dict
        output += line
        if "'loss'" in line:
            process.send_signal(signal.SIGINT)
            break
    output += process.stdout.read()
    run = folder / "run"
    interrupted = Interrupted(
        output=output,
        returncode=process.wait(timeout=300),
        metrics=json.loads((run / "metrics.json").read_text()),
        checkpoints=[p.name for p in (run / "checkpoints").glob("checkpoint-*")],
        adapter_saved=(run / "adapter" / "adapter_model.safetensors").is_file(),
    )
    assert main(["--config", str(config), "train", "--resume"]) == 0, output
    return folder, interrupted


@pytest.fixture(scope="module")
def tiny_run(training) -> Path:
    """The folder of the finished tiny run (config.toml, data/, run/)."""
    return training[0]


@pytest.fixture(scope="module")
def served(tiny_run):
    """The run's adapter on the bundled model, through the transformers backend."""
    profile = TransformersProfile(
        model=str(MODELS),
        gguf_file=LlamaCppProfile().model_path.name,
        adapter_path=tiny_run / "run" / "adapter",
        max_tokens=16,
    )
    return build_chat_model(profile)


def test_data_is_built_in_the_rag_prompt_format_and_split_by_question(tiny_run):
    train = read_examples(tiny_run / "data" / "train.jsonl")
    val = read_examples(tiny_run / "data" / "val.jsonl")
    assert (len(train), len(val)) == (2, 1)
    assert {e.question for e in train}.isdisjoint({e.question for e in val})
    for example in train + val:
        roles = [m["role"] for m in example.messages]
        assert roles[0] == "system" and roles[-2:] == ["user", "assistant"]
        assert example.messages[-2]["content"].startswith("段落：\n[1] (")
        answer = example.messages[-1]["content"]
        assert answer.startswith(example.expected)
        assert any(f"[{n}]" in answer for n in (1, 2))


def test_synthetic_pairs_quote_the_notes_and_are_marked(tmp_path, sample_index, capsys):
    config = write_config(tmp_path, sample_index)
    qa = write_qa(tmp_path / "qa.jsonl", QA[:1])
    assert main(["--config", str(config), "build-data", "--qa", str(qa), "--synthetic", "3"]) == 0
    assert "synthetic pairs kept" in capsys.readouterr().out
    examples = read_examples(tmp_path / "data" / "train.jsonl")
    examples += read_examples(tmp_path / "data" / "val.jsonl")
    made = [e for e in examples if e.qid.startswith("synthetic:")]
    assert made, "the local model wrote no usable pair from three chunks"
    notes = squeeze("".join(p.read_text(encoding="utf-8") for p in SAMPLE_DIR.iterdir()))
    assert {e.kind for e in made} <= {"synthetic", "refusal"}
    for example in (e for e in made if e.kind == "synthetic"):
        assert squeeze(example.expected) in notes


def test_training_lowers_the_loss_and_writes_a_complete_run(tiny_run):
    run = tiny_run / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 5 and not metrics["interrupted"]
    assert metrics["last_train_loss"] < metrics["first_train_loss"]
    assert metrics["final_val_loss"] is not None
    assert (run / "adapter" / "adapter_model.safetensors").is_file()
    assert json.loads((run / "adapter" / "adapter_config.json").read_text())["r"] == 8
    assert json.loads((run / "training_config.json").read_text())["fingerprint"]
    assert "Steps: 5" in (run / "README.md").read_text()
    assert any((run / "checkpoints").glob("checkpoint-*"))


def test_adapter_served_through_the_transformers_backend_changes_the_answer(served, tiny_run):
    """Trained to a near-zero loss on two examples, the adapter answers a training question with
    its target; the base model under the same backend does not."""
    example = read_examples(tiny_run / "data" / "train.jsonl")[0]
    tuned = served.invoke(example.prompt, stop=STOP).content
    with served.llm.pipeline.model.disable_adapter():
        base = served.invoke(example.prompt, stop=STOP).content
    assert tuned.strip().startswith(example.expected)
    assert base != tuned


def test_gguf_export_is_served_by_the_llamacpp_backend(tiny_run):
    """The adapter exported to GGUF, on the quantized base in llama.cpp, gives the fine-tuned
    answer (a mis-named or transposed tensor would be refused or would not)."""
    assert main(["--config", str(tiny_run / "config.toml"), "export-gguf"]) == 0
    example = read_examples(tiny_run / "data" / "train.jsonl")[0]
    profile = LlamaCppProfile(n_ctx=1024, temperature=0.0, max_tokens=40)
    base = build_chat_model(profile).invoke(example.prompt, stop=STOP).content
    tuned_profile = profile.model_copy(update={"lora_path": tiny_run / "run" / "adapter.gguf"})
    tuned = build_chat_model(tuned_profile).invoke(example.prompt, stop=STOP).content
    assert tuned.strip().startswith(example.expected)
    assert base != tuned


def test_eval_compares_base_and_fine_tuned_on_the_held_out_examples(tiny_run, capsys):
    report = tiny_run / "eval.json"
    config = str(tiny_run / "config.toml")
    assert main(["--config", config, "eval", "--max-tokens", "24", "--report", str(report)]) == 0
    table, line = capsys.readouterr().out.strip().rsplit("\n", 1)
    summaries = json.loads(line)
    assert set(summaries) == {"base", "fine-tuned"} and "containment" in table
    assert all(summary["n"] == 1 for summary in summaries.values())
    rows = json.loads(report.read_text())
    val = read_examples(tiny_run / "data" / "val.jsonl")[0]
    for result in rows.values():
        (row,) = result["rows"]
        assert row["qid"] == val.qid and row["answer"]
        in_answer = squeeze(val.expected) in squeeze(row["answer"])
        assert row["cited"] or row["contained"] == in_answer  # uncited: only the answer counts


def test_ctrl_c_saves_a_usable_checkpoint_and_resume_continues(training):
    folder, interrupted = training
    assert interrupted.returncode == 0 and "interrupted" in interrupted.output, interrupted.output
    assert interrupted.metrics["interrupted"] and 1 <= interrupted.metrics["steps"] < 5
    assert interrupted.checkpoints and interrupted.adapter_saved
    resumed = json.loads((folder / "run" / "metrics.json").read_text())
    assert resumed["steps"] == 5 and not resumed["interrupted"]
    done = interrupted.metrics["steps"]
    assert resumed["train_loss_per_step"][:done] == interrupted.metrics["train_loss_per_step"]


def test_malformed_qa_line_is_named(tmp_path, capsys):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps(QA[0], ensure_ascii=False) + '\n{"question": "no answer"}\n')
    config = write_config(tmp_path, tmp_path / "no-index")
    assert main(["--config", str(config), "build-data", "--qa", str(qa)]) == 1
    assert "qa.jsonl line 2: missing key 'answer'" in capsys.readouterr().err


def test_empty_data_set_is_refused(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text("\n")
    assert main(["--config", str(write_config(tmp_path, tmp_path / "no-index")), "train"]) == 1
    assert "train.jsonl: no examples" in capsys.readouterr().err


def test_missing_base_model_is_named(tmp_path, sample_index, tiny_run, capsys):
    config = write_config(
        tmp_path, sample_index, base_model=str(tmp_path / "nope"), data=str(tiny_run / "data")
    )
    assert main(["--config", str(config), "train"]) == 1
    assert f"base model not found: {tmp_path / 'nope'}" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_folder_holding_another_run_is_refused_unless_overwrite(
    tmp_path, sample_index, tiny_run, capsys
):
    run = tmp_path / "run"
    run.mkdir()
    (run / "training_config.json").write_text('{"fingerprint": "someone-else"}')
    config = write_config(tmp_path, sample_index, data=str(tiny_run / "data"))
    assert main(["--config", str(config), "train"]) == 1
    assert "holds a different run" in capsys.readouterr().err
    assert (run / "training_config.json").read_text() == '{"fingerprint": "someone-else"}'

    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    config = write_config(
        tmp_path, sample_index, data=str(tiny_run / "data"), output=str(tmp_path / "other")
    )
    assert main(["--config", str(config), "train", "--overwrite"]) == 1
    assert "is not a ragchat run" in capsys.readouterr().err
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_a_batch_too_big_for_memory_is_refused_with_advice(
    tmp_path, sample_index, tiny_run, capsys
):
    config = write_config(
        tmp_path, sample_index, data=str(tiny_run / "data"), batch_size=512, max_seq_length=32768
    )
    assert main(["--config", str(config), "train"]) == 1
    error = capsys.readouterr().err
    assert "not enough memory on cpu for this batch" in error
    assert "lower finetune.batch_size (now 512)" in error
