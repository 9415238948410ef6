"""Fine-tuning benchmark: the whole loop on the seeds QA set, base vs fine-tuned, in one run.

    python bench/finetune.py                 # CPU: about 40 minutes on 2 cores
    python bench/finetune.py --epochs 3      # any [finetune] setting can also go in the config

Indexes ../shared/corpus/seeds, builds chat examples from tests/data/seeds_qa_{zh,en}.jsonl with
the project's retriever, holds out 20% of the questions, trains a LoRA adapter on the rest, and
scores base and fine-tuned models on the held-out examples (containment, citations, refusal).
Everything lands in .ragchat/bench-finetune/; the summary in bench/results/finetune.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_settings  # noqa: E402
from finetune.cli import main as finetune  # noqa: E402
from index.embeddings import build_embedder  # noqa: E402
from index.updater import ingest  # noqa: E402

SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
QA_FILES = [REPO / "tests" / "data" / f"seeds_qa_{lang}.jsonl" for lang in ("zh", "en")]
WORK = REPO / ".ragchat" / "bench-finetune"


def main() -> None:
    args = _parse_args()
    if not SEEDS.is_dir():
        sys.exit(f"{SEEDS} not found: this benchmark needs ../shared beside the repository")
    WORK.mkdir(parents=True, exist_ok=True)
    config = WORK / "config.toml"
    config.write_text(_config_text(args), encoding="utf-8")
    settings = load_settings(config)
    ingest(settings, build_embedder(settings.embedding), show_progress=False, on_message=print)
    timings = {}
    for step in (
        ["build-data", "--qa", *map(str, QA_FILES)],
        ["train", "--overwrite"],
        ["export-gguf"],
        ["eval", "--report", str(WORK / "eval.json")],
    ):
        started = time.perf_counter()
        if finetune(["--config", str(config), *step]) != 0:
            sys.exit(f"finetune.py {step[0]} failed")
        timings[step[0]] = round(time.perf_counter() - started, 1)
    metrics = json.loads((WORK / "run" / "metrics.json").read_text())
    evaluation = json.loads((WORK / "eval.json").read_text())
    summary = {
        "settings": vars(args),
        "seconds": timings,
        "training": {k: v for k, v in metrics.items() if k != "train_loss_per_step"},
        "eval": {name: result["summary"] for name, result in evaluation.items()},
    }
    out = REPO / "bench" / "results" / "finetune.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(summary, ensure_ascii=False))


def _config_text(args: argparse.Namespace) -> str:
    return "\n".join(
        [
            "[paths]",
            f'documents = "{SEEDS}"',
            f'index = "{WORK / "index"}"',
            "[finetune]",
            f'base_model = "{REPO / ".ragchat" / "models"}"',
            f'data = "{WORK / "data"}"',
            f'output = "{WORK / "run"}"',
            f"epochs = {args.epochs}",
            f"learning_rate = {args.learning_rate}",
            f"lora_r = {args.lora_r}",
            f"lora_alpha = {2 * args.lora_r}",
            "",
        ]
    )


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--learning-rate", type=float, default=2e-4, dest="learning_rate")
    parser.add_argument("--lora-r", type=int, default=8, dest="lora_r")
    return parser.parse_args()


if __name__ == "__main__":
    main()
