"""`transformers`: a Hugging Face causal LM (folder, hub name, or a GGUF file transformers can
dequantize) with an optional peft LoRA adapter, wrapped by LangChain's `ChatHuggingFace`.
Slower than llama.cpp on a CPU (float32), but it is what training produces directly."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from config import TransformersProfile
from llms.errors import LLMError


def build_transformers(profile: TransformersProfile) -> BaseChatModel:
    try:
        import torch
        from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
        from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline
    except ImportError as err:  # pragma: no cover - depends on the install
        raise LLMError(f"the transformers backend needs `pip install -e .[dev]` ({err})") from err
    if profile.adapter_path is not None and not profile.adapter_path.is_dir():
        raise LLMError(
            f"LoRA adapter not found: {profile.adapter_path}; `python finetune.py train` writes one"
        )
    files = {"gguf_file": profile.gguf_file} if profile.gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(profile.model, **files)
        model = AutoModelForCausalLM.from_pretrained(profile.model, dtype=torch.float32, **files)
    except (OSError, ValueError) as err:
        raise LLMError(f"cannot load model {profile.model!r} with transformers: {err}") from err
    if profile.adapter_path is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(profile.adapter_path))
    model.to(profile.device).eval()
    sampling = (
        {"do_sample": True, "temperature": profile.temperature}
        if profile.temperature
        else {"do_sample": False}
    )
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
