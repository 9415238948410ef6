"""`transformers`: a Hugging Face causal LM (folder, hub name, or a GGUF file transformers can
dequantize) with an optional peft LoRA adapter, wrapped by LangChain's `ChatHuggingFace`.
Slower than llama.cpp on a CPU (float32), but it is what training produces directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from config import TransformersProfile
from i18n import N_, _
from llms.backend import Backend
from llms.dequantized import dequantized_copy
from llms.errors import LLMError


def build_transformers(profile: TransformersProfile) -> BaseChatModel:
    try:
        from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
        from transformers import pipeline
    except ImportError as err:  # pragma: no cover - depends on the install
        raise LLMError(
            N_("the transformers backend needs `pip install -e .` ({error})"), error=err
        ) from err
    if profile.adapter_path is not None and not profile.adapter_path.is_dir():
        raise LLMError(
            N_("LoRA adapter not found: {path}; `python finetune.py train` writes one"),
            path=profile.adapter_path,
        )
    source = model_source(profile.model, profile.gguf_file, profile.keep_dequantized)
    tokenizer = load_tokenizer(*source)
    model = load_causal_lm(*source)
    if profile.adapter_path is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(profile.adapter_path))
    model.to(profile.device).eval()
    sampling = sampling_options(profile.temperature)["pipeline_kwargs"]
    generator = pipeline(
        "text-generation",
        model=model,
        tokenizer=tokenizer,
        device=profile.device,
        max_new_tokens=profile.max_tokens,
        return_full_text=False,
        **sampling,
    )
    llm = HuggingFacePipeline(pipeline=generator, model_id=profile.model)
    return ChatHuggingFace(llm=llm, tokenizer=tokenizer, model_id=profile.model)


def model_source(
    model: str, gguf_file: str | None, keep_dequantized: bool
) -> tuple[str, str | None]:
    """Where transformers loads `model` from, as (folder or hub name, GGUF file or None): a
    local GGUF's dequantized copy when `keep_dequantized` (made on first use, `llms.dequantized`),
    else `model` and `gguf_file` as given."""
    gguf = Path(model) / gguf_file if gguf_file else None
    if gguf is None or not keep_dequantized or not gguf.is_file():
        return model, gguf_file

    def save(folder: Path) -> None:
        load_tokenizer(model, gguf_file).save_pretrained(folder)
        load_causal_lm(model, gguf_file).save_pretrained(folder)

    copy = dequantized_copy(gguf, save)
    return (str(copy), None) if copy else (model, gguf_file)


def load_tokenizer(model: str, gguf_file: str | None):
    """The tokenizer (with its chat template) of a folder or hub model, or of a GGUF in it."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model, **_gguf(gguf_file))
    except (OSError, ValueError) as err:
        raise LLMError(
            N_("cannot load model {model!r} with transformers (tokenizer): {error}"),
            model=model,
            error=err,
        ) from err


def load_causal_lm(model: str, gguf_file: str | None):
    """The model in float32; a GGUF is dequantized into plain float32 layers (trainable)."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        loaded = AutoModelForCausalLM.from_pretrained(
            model, dtype=torch.float32, **_gguf(gguf_file)
        )
    except (OSError, ValueError) as err:
        raise LLMError(
            N_("cannot load model {model!r} with transformers: {error}"), model=model, error=err
        ) from err
    if gguf_file and all(p.dtype == torch.float32 for p in loaded.parameters()):
        # Every GGUF block was dequantized, but the model still carries the GGUF quantizer's
        # flags, which make transformers' Trainer refuse to fine-tune it.
        loaded.is_quantized = False
        loaded.hf_quantizer = None
        del loaded.config.quantization_config
    return loaded


def _gguf(gguf_file: str | None) -> dict[str, str]:
    return {"gguf_file": gguf_file} if gguf_file else {}


def sampling_options(temperature: float | None) -> dict[str, Any]:
    """A per-answer temperature as the pipeline's generation arguments (0: greedy)."""
    if temperature is None:
        return {}
    if not temperature:
        return {"pipeline_kwargs": {"do_sample": False}}
    return {"pipeline_kwargs": {"do_sample": True, "temperature": temperature}}


def describe(profile: TransformersProfile) -> str:
    model = profile.gguf_file or profile.model
    adapter = f" + LoRA {profile.adapter_path.name}" if profile.adapter_path else ""
    return f"{model}{adapter} " + _("(local, transformers on {device})").format(
        device=profile.device
    )


BACKEND = Backend(
    build=build_transformers,
    describe=describe,
    exclusive=True,  # one float32 model in this process: generations take turns
    call_options=lambda _llm, _profile, _refusals: sampling_options,
)
