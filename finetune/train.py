"""LoRA supervised fine-tuning of the local causal LM with peft and transformers' Trainer.

The loss covers the answer tokens only: the prompt (system, worked examples, passages, question)
is context the model reads, not text it should learn to write. A run folder holds everything:
`adapter/` (peft format), `checkpoints/` (resumable), `training_config.json` (settings and a
fingerprint of settings + data), `metrics.json` and a model card (`README.md`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from config import FinetuneSettings
from errors import RagchatError
from finetune.data import Example, read_examples
from llms import transformers_backend

RUN_CONFIG = "training_config.json"
IGNORED_LABEL = -100
"""Label value the loss skips (PyTorch's cross-entropy ignore_index)."""


class FinetuneError(RagchatError):
    """Something that stops a training run, said so that the user can act on it."""


@dataclass
class RunPaths:
    root: Path

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def config(self) -> Path:
        return self.root / RUN_CONFIG

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def gguf_adapter(self) -> Path:
        return self.root / "adapter.gguf"


def resolve_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def check_base_model(settings: FinetuneSettings) -> None:
    """Fail early on a local base model that is not there (a hub name, `org/name`, is left to
    transformers)."""
    name = settings.base_model
    local = Path(name).is_absolute() or name.startswith((".", "~")) or name.count("/") != 1
    path = Path(name).expanduser()
    if local and not path.exists():
        raise FinetuneError(f"base model not found: {name} (finetune.base_model)")
    if local and settings.gguf_file and not (path / settings.gguf_file).is_file():
        raise FinetuneError(f"base model file not found: {path / settings.gguf_file}")


def base_model_source(settings: FinetuneSettings) -> tuple[str, str | None]:
    """Where the base model is loaded from (`transformers_backend.model_source`)."""
    check_base_model(settings)
    return transformers_backend.model_source(
        settings.base_model, settings.gguf_file, settings.keep_dequantized
    )


def load_tokenizer(settings: FinetuneSettings):
    """The base model's tokenizer, with its chat template."""
    return transformers_backend.load_tokenizer(*base_model_source(settings))


def text_token_counter(tokenizer) -> Callable[[str], int]:
    """Tokens of a plain text."""
    return lambda text: len(_token_ids(tokenizer, text))


def chat_token_counter(tokenizer) -> Callable[[list[dict]], int]:
    """Tokens of a chat as the model sees it, chat template included."""
    count_text = text_token_counter(tokenizer)
    return lambda messages: count_text(tokenizer.apply_chat_template(messages, tokenize=False))


def _token_ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def encode(example: Example, tokenizer) -> dict[str, list[int]]:
    """Token ids of the whole chat, with labels that hide everything before the answer."""
    prompt = tokenizer.apply_chat_template(
        example.prompt, tokenize=False, add_generation_prompt=True
    )
    whole = tokenizer.apply_chat_template(example.messages, tokenize=False)
    if not whole.startswith(prompt):
        raise FinetuneError(f"example {example.qid}: the chat template does not end the prompt")
    prompt_ids = _token_ids(tokenizer, prompt)
    answer_ids = _token_ids(tokenizer, whole[len(prompt) :])
    return {
        "input_ids": prompt_ids + answer_ids,
        "attention_mask": [1] * (len(prompt_ids) + len(answer_ids)),
        "labels": [IGNORED_LABEL] * len(prompt_ids) + answer_ids,
    }


def fingerprint(settings: FinetuneSettings, data_files: list[Path]) -> str:
    """What makes two runs the same run: the training settings and the data."""
    digest = hashlib.sha256()
    how_long = {"max_steps", "epochs", "save_steps"}  # a resumed run may be made longer
    where = {"output", "device", "data", "keep_dequantized"}  # the same weights either way
    kept = settings.model_dump(mode="json", exclude=where | how_long)
    digest.update(json.dumps(kept, sort_keys=True).encode())
    for path in data_files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def prepare_run_folder(paths: RunPaths, run_id: str, overwrite: bool, resume: bool) -> Path | None:
    """Make the run folder ready; return the checkpoint to resume from, if any. A folder that
    holds another run is refused unless `overwrite`; a folder that is not a run is never
    deleted."""
    from transformers.trainer_utils import get_last_checkpoint

    root = paths.root
    if not root.exists() or not any(root.iterdir()):
        root.mkdir(parents=True, exist_ok=True)
        return None
    if not paths.config.is_file():
        raise FinetuneError(f"{root} is not empty and is not a ragchat run; choose another output")
    previous = json.loads(paths.config.read_text(encoding="utf-8")).get("fingerprint")
    if overwrite:
        shutil.rmtree(root)
        root.mkdir(parents=True)
        return None
    if previous != run_id:
        raise FinetuneError(
            f"{root} holds a different run (other settings or data); "
            "use --overwrite to replace it, or --output for a new folder"
        )
    if not resume:
        raise FinetuneError(f"{root} holds this run already; --resume continues it")
    last = get_last_checkpoint(str(paths.checkpoints)) if paths.checkpoints.is_dir() else None
    return Path(last) if last else None


BYTES_PER_ACTIVATION = 4 * 34
"""float32 activations kept for the backward pass, per layer, token and hidden unit (a rough
count for a transformer block with attention and MLP)."""


def estimate_training_bytes(model, settings: FinetuneSettings) -> int:
    """Weights plus activations of one forward/backward pass at `batch_size` x `max_seq_length`,
    logits included: an estimate to refuse a batch that cannot fit, not a measurement."""
    config = model.config
    tokens = settings.batch_size * settings.max_seq_length
    per_token = config.num_hidden_layers * config.hidden_size * BYTES_PER_ACTIVATION
    per_token += config.vocab_size * 4 * 3  # logits, their softmax and its gradient
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return weights + tokens * per_token


def available_bytes(device: str) -> int:
    if device == "cuda":
        import torch

        return torch.cuda.mem_get_info()[0]
    import psutil

    return psutil.virtual_memory().available


def memory_advice(settings: FinetuneSettings) -> str:
    return (
        f"lower finetune.batch_size (now {settings.batch_size}) and raise "
        f"finetune.gradient_accumulation to keep the effective batch, or lower "
        f"finetune.max_seq_length (now {settings.max_seq_length})"
    )


def train(
    settings: FinetuneSettings, overwrite: bool = False, resume: bool = False
) -> dict[str, Any]:
    """Train a LoRA adapter on `settings.data`, write the run folder, return its metrics."""
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForSeq2Seq, Trainer

    check_base_model(settings)
    data_files = [settings.data / "train.jsonl", settings.data / "val.jsonl"]
    train_set = read_examples(data_files[0])
    val_set = read_examples(data_files[1]) if data_files[1].is_file() else []
    paths = RunPaths(settings.output)
    run_id = fingerprint(settings, [f for f in data_files if f.is_file()])
    checkpoint = prepare_run_folder(paths, run_id, overwrite, resume)
    _write_json(paths.config, {"fingerprint": run_id, "settings": settings.model_dump(mode="json")})

    device = resolve_device(settings.device)
    source = base_model_source(settings)
    tokenizer = transformers_backend.load_tokenizer(*source)
    model = transformers_backend.load_causal_lm(*source)
    needed, free = estimate_training_bytes(model, settings), available_bytes(device)
    if needed > free:
        raise FinetuneError(
            f"not enough memory on {device} for this batch: about {needed / 2**30:.1f} GiB "
            f"needed, {free / 2**30:.1f} GiB free; {memory_advice(settings)}"
        )
    model = get_peft_model(
        model,
        LoraConfig(
            r=settings.lora_r,
            lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout,
            target_modules=settings.target_modules,
            task_type="CAUSAL_LM",
        ),
    )
    train_data = encode_all(train_set, tokenizer, settings.max_seq_length)
    val_data = encode_all(val_set, tokenizer, settings.max_seq_length)
    if not train_data:
        raise FinetuneError(
            f"no training example fits finetune.max_seq_length ({settings.max_seq_length})"
        )
    interrupt = StopOnInterrupt()
    trainer = Trainer(
        model=model,
        args=training_arguments(settings, paths, device, evaluate=bool(val_data)),
        train_dataset=train_data,
        eval_dataset=val_data or None,
        data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORED_LABEL),
        callbacks=[interrupt],
    )
    started = time.perf_counter()
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, MemoryError) or "out of memory" in str(err).lower():
            raise FinetuneError(
                f"ran out of memory while training; {memory_advice(settings)}"
            ) from err
        raise
    seconds = time.perf_counter() - started
    history = list(trainer.state.log_history)
    final_val = None
    if val_data and not interrupt.interrupted:
        evals = [h for h in history if "eval_loss" in h]
        ended_on_eval = evals and evals[-1]["step"] == trainer.state.global_step
        final_val = evals[-1]["eval_loss"] if ended_on_eval else trainer.evaluate()["eval_loss"]
    model.save_pretrained(str(paths.adapter))
    metrics = _metrics(history, final_val, seconds, interrupt.interrupted)
    metrics.update(train_examples=len(train_data), val_examples=len(val_data), device=device)
    _write_json(paths.metrics, metrics)
    (paths.root / "README.md").write_text(model_card(settings, metrics), encoding="utf-8")
    return metrics


def training_arguments(settings: FinetuneSettings, paths: RunPaths, device: str, evaluate: bool):
    """The Trainer's settings: one log line per step, validation per epoch, checkpoints every
    `save_steps` (the last two kept)."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(paths.checkpoints),
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1,
        lr_scheduler_type="linear",
        logging_steps=1,
        eval_strategy="epoch" if evaluate else "no",
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=2,
        seed=settings.seed,
        use_cpu=device == "cpu",
        report_to="none",
        dataloader_num_workers=0,
    )


def encode_all(examples: list[Example], tokenizer, max_tokens: int) -> list[dict[str, list[int]]]:
    """The examples encoded, leaving out (and saying so) any longer than `max_tokens`: build-data
    filtered them, but `max_seq_length` may have been lowered since."""
    encoded = [encode(example, tokenizer) for example in examples]
    kept = [item for item in encoded if len(item["input_ids"]) <= max_tokens]
    if len(kept) < len(encoded):
        print(f"left out {len(encoded) - len(kept)} examples longer than {max_tokens} tokens")
    return kept


class StopOnInterrupt(TrainerCallback):
    """Trainer callback: the first Ctrl-C finishes the current step, saves a checkpoint and ends
    training (the adapter is then written as usual); a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.interrupted = False
        self._previous: Any = None

    def _on_sigint(self, *_: object) -> None:
        self.interrupted = True
        print("\ninterrupted: saving a checkpoint after this step (Ctrl-C again to abort)")
        signal.signal(signal.SIGINT, self._previous)

    def on_train_begin(self, args, state, control, **kwargs):
        self._previous = signal.signal(signal.SIGINT, self._on_sigint)

    def on_step_end(self, args, state, control, **kwargs):
        if self.interrupted:
            control.should_save = True
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        if not self.interrupted:
            signal.signal(signal.SIGINT, self._previous)


def _metrics(
    history: list[dict], final_val: float | None, seconds: float, interrupted: bool
) -> dict[str, Any]:
    steps = [(h["step"], h["loss"]) for h in history if "loss" in h]
    return {
        "steps": steps[-1][0] if steps else 0,
        "train_loss_per_step": [loss for _, loss in steps],
        "first_train_loss": steps[0][1] if steps else None,
        "last_train_loss": steps[-1][1] if steps else None,
        "val_loss_per_epoch": [h["eval_loss"] for h in history if "eval_loss" in h],
        "final_val_loss": final_val,
        "seconds": round(seconds, 1),
        "interrupted": interrupted,
    }


def model_card(settings: FinetuneSettings, metrics: dict[str, Any]) -> str:
    """A short README for the run folder: what was trained, on what, with what result."""
    base = settings.base_model + (f" ({settings.gguf_file})" if settings.gguf_file else "")
    return "\n".join(
        [
            "# ragchat LoRA adapter",
            "",
            f"- Base model: {base}",
            f"- Data: {settings.data} ({metrics['train_examples']} training, "
            f"{metrics['val_examples']} validation examples, RAG prompt format)",
            f"- LoRA: r={settings.lora_r}, alpha={settings.lora_alpha}, "
            f"dropout={settings.lora_dropout}, modules={', '.join(settings.target_modules)}",
            f"- Steps: {metrics['steps']} (learning rate {settings.learning_rate}, batch "
            f"{settings.batch_size} x {settings.gradient_accumulation}), {metrics['seconds']} s "
            f"on {metrics['device']}" + (", interrupted" if metrics["interrupted"] else ""),
            f"- Train loss: {metrics['first_train_loss']} -> {metrics['last_train_loss']}",
            f"- Validation loss per epoch: {metrics['val_loss_per_epoch']}; "
            f"final: {metrics['final_val_loss']}",
            "",
            "Serve it with the `finetuned` profile (transformers + this adapter/), or run",
            "`python finetune.py export-gguf` and use the `finetuned-gguf` profile (llama.cpp).",
            "",
        ]
    )


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")
