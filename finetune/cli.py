"""The `python finetune.py` command line: fine-tune the local model on your documents.

    python finetune.py build-data --qa my_questions.jsonl   # chat examples from the index
    python finetune.py train                                # LoRA adapter -> [finetune] output
    python finetune.py export-gguf                          # adapter.gguf for llama.cpp
    python finetune.py eval                                 # base vs fine-tuned, held-out split

Settings come from `[finetune]` in config.toml; the flags override the common ones. Exit status:
0 done, 1 a problem with the input or the settings (the message says which and what to do).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from config import FinetuneSettings, Settings, TransformersProfile, load_settings
from errors import RagchatError
from finetune.data import DatasetError
from llms import LLMError

COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], None]] = {}


def command(function: Callable[[Settings, argparse.Namespace], None]):
    """Register a subcommand under its function name (with - for _)."""
    COMMANDS[function.__name__.replace("_", "-")] = function
    return function


@command
def build_data(settings: Settings, args: argparse.Namespace) -> None:
    from evaluation.scoring import read_qa
    from finetune import data
    from finetune.train import chat_token_counter, load_tokenizer
    from services.container import ServiceHub

    tuning = settings.finetune
    items = [item for path in args.qa for item in read_qa(path)]
    service = ServiceHub(settings).service()  # the served passages, translation and budget
    if isinstance(service.models, LLMError):
        raise service.models
    tokenizer = load_tokenizer(tuning)
    summary = data.BuildSummary()

    def examples_for(pairs: list, kind: str) -> list[data.Example]:
        share, seed = tuning.refusal_fraction, tuning.seed
        return data.build_examples(pairs, service.passages, share, seed, kind)

    examples = examples_for(items, "qa")
    if args.synthetic:
        synthetic, tried = data.synthetic_items(
            service.models.llm, service.knowledge_base.documents(), args.synthetic, tuning.seed
        )
        examples += examples_for(synthetic, "synthetic")
        summary.notes.append(f"synthetic pairs kept: {len(synthetic)} of {tried} chunks tried")
    examples, summary.duplicates = data.deduplicate(examples)
    examples, summary.too_long, summary.longest_tokens = data.drop_too_long(
        examples, chat_token_counter(tokenizer), tuning.max_seq_length
    )
    if not examples:
        raise DatasetError(
            f"no examples left to write: {summary.duplicates} duplicates, {summary.too_long} "
            f"longer than finetune.max_seq_length ({tuning.max_seq_length} tokens)"
        )
    train, val = data.split(examples, tuning.val_fraction, tuning.seed)
    for kind in ("qa", "refusal", "synthetic"):
        setattr(summary, kind, sum(e.kind == kind for e in examples))
    summary.train, summary.val = len(train), len(val)
    data.write_examples(tuning.data / "train.jsonl", train)
    data.write_examples(tuning.data / "val.jsonl", val)
    print(f"wrote {tuning.data}/train.jsonl and val.jsonl")
    print(json.dumps(asdict(summary), ensure_ascii=False))


@command
def train(settings: Settings, args: argparse.Namespace) -> None:
    from finetune.train import train as run_training

    metrics = run_training(settings.finetune, overwrite=args.overwrite, resume=args.resume)
    state = "interrupted; --resume continues" if metrics["interrupted"] else "done"
    print(
        f"{state}: {metrics['steps']} steps in {metrics['seconds']} s, train loss "
        f"{metrics['first_train_loss']} -> {metrics['last_train_loss']}, "
        f"validation loss {metrics['final_val_loss']}; adapter in {settings.finetune.output}"
    )
    print(json.dumps(metrics))


@command
def export_gguf(settings: Settings, args: argparse.Namespace) -> None:
    from finetune.export import base_architecture, export_gguf_adapter
    from finetune.train import RunPaths

    tuning = settings.finetune
    paths = RunPaths(tuning.output)
    architecture = base_architecture(tuning.base_model, tuning.gguf_file)
    written = export_gguf_adapter(paths.adapter, architecture, paths.gguf_adapter)
    print(f"wrote {written}; serve it with the `finetuned-gguf` profile (llamacpp lora_path)")


@command
def eval(settings: Settings, args: argparse.Namespace) -> None:  # noqa: A001 - the verb users type
    from finetune.compare import answer_examples, format_table, summarize
    from finetune.data import read_examples
    from finetune.train import RunPaths
    from llms import build_chat_model

    tuning = settings.finetune
    examples = read_examples(tuning.data / "val.jsonl")[: args.limit or None]
    profiles = finetuned_profiles(tuning, RunPaths(tuning.output).adapter, args.max_tokens)
    results = {}
    for name, profile in profiles.items():
        results[name] = {"rows": answer_examples(build_chat_model(profile), examples)}
        results[name]["summary"] = summarize(results[name]["rows"])
    summaries = {name: result["summary"] for name, result in results.items()}
    print(format_table(summaries))
    if args.report:
        args.report.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(summaries))


def finetuned_profiles(
    tuning: FinetuneSettings, adapter: Path, max_tokens: int
) -> dict[str, TransformersProfile]:
    """The base model and the base model plus `adapter`, both through transformers."""
    if not adapter.is_dir():
        raise DatasetError(f"no adapter at {adapter}; run `python finetune.py train` first")
    base = TransformersProfile(
        model=tuning.base_model,
        gguf_file=tuning.gguf_file,
        keep_dequantized=tuning.keep_dequantized,
        max_tokens=max_tokens,
        device="cuda" if tuning.device == "cuda" else "cpu",
    )
    return {"base": base, "fine-tuned": base.model_copy(update={"adapter_path": adapter})}


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        settings = load_settings(args.config)
        _apply_flags(settings.finetune, args)
        COMMANDS[args.command](settings, args)
    except RagchatError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


def _apply_flags(tuning: FinetuneSettings, args: argparse.Namespace) -> None:
    for flag in ("data", "output", "max_steps", "epochs", "batch_size", "device"):
        value = getattr(args, flag, None)
        if value is not None:
            setattr(tuning, flag, value.resolve() if isinstance(value, Path) else value)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="config file (default: config.toml)")
    parser.add_argument("--data", type=Path, help="data folder (default: finetune.data)")
    parser.add_argument("--output", type=Path, help="run folder (default: finetune.output)")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build-data", help="chat examples from QA pairs and the index")
    build.add_argument("--qa", type=Path, nargs="+", required=True, help="QA JSONL files")
    build.add_argument(
        "--synthetic", type=int, default=0, help="also ask the LLM for N QA pairs from chunks"
    )
    training = commands.add_parser("train", help="train a LoRA adapter")
    training.add_argument("--overwrite", action="store_true", help="replace the run folder")
    training.add_argument("--resume", action="store_true", help="continue from a checkpoint")
    training.add_argument("--max-steps", type=int, dest="max_steps")
    training.add_argument("--epochs", type=float)
    training.add_argument("--batch-size", type=int, dest="batch_size")
    training.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    commands.add_parser("export-gguf", help="write adapter.gguf for llama.cpp")
    evaluation = commands.add_parser("eval", help="base vs fine-tuned on the validation split")
    evaluation.add_argument("--limit", type=int, default=0, help="first N examples only")
    evaluation.add_argument("--max-tokens", type=int, default=64, dest="max_tokens")
    evaluation.add_argument("--report", type=Path, help="write every answer to this JSON file")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
