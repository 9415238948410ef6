"""`llamacpp`: a GGUF model run in-process by llama-cpp-python, through LangChain's
`ChatLlamaCpp` (the GGUF's own chat template formats the messages)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.language_models import BaseChatModel

from config import BUNDLED_MODEL_PATH, LlamaCppProfile
from errors import Message
from i18n import N_, _
from llms.backend import Backend, CallOptions
from llms.errors import LLMError


def build_llamacpp(profile: LlamaCppProfile) -> BaseChatModel:
    from llms import bundled

    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError as err:  # pragma: no cover - depends on the install
        raise LLMError(
            N_("llama-cpp-python is not installed ({error}); run `make install`"), error=err
        ) from err
    path = profile.model_path
    if not path.is_file():
        hint = (
            N_("run `make install` to assemble it")
            if path.name == BUNDLED_MODEL_PATH.name
            else N_("check llm.profiles.<name>.model_path")
        )
        raise LLMError(
            N_("local model file not found: {path}; {hint}"), path=path, hint=Message(hint)
        )
    if path.name == BUNDLED_MODEL_PATH.name and not bundled.verify(path):
        raise LLMError(
            N_(
                "local model file {path} fails its sha256 check (damaged or incomplete); "
                "delete it and run `make install`"
            ),
            path=path,
        )
    if profile.lora_path is not None and not profile.lora_path.is_file():
        raise LLMError(
            N_(
                "LoRA adapter not found: {path}; `python finetune.py export-gguf` "
                "writes one from a fine-tuning run"
            ),
            path=profile.lora_path,
        )
    try:
        return ChatLlamaCpp(
            model_path=str(path),
            lora_path=str(profile.lora_path) if profile.lora_path else None,
            n_ctx=profile.n_ctx,
            n_threads=profile.n_threads,
            # Reading 300 passage tokens after the cached 300-token prompt prefix: 1.53 -> 1.42 s
            # on 2 cores (median of 4, one run), the same greedy answers on the seeds bench.
            model_kwargs={"flash_attn": True},
            n_batch=512,  # prompt tokens per step: the default of 8 makes prompts ~5x slower
            # ChatLlamaCpp defaults these to 10000 and 1, which overrides the model's own RoPE
            # settings (Qwen2.5 uses a base of 1,000,000) and garbles long prompts; 0 means "as
            # the GGUF says" (llama.cpp PR 3401, llama-cpp-python issue 765).
            rope_freq_base=0.0,
            rope_freq_scale=0.0,
            temperature=profile.temperature,
            max_tokens=profile.max_tokens,
            repeat_penalty=profile.repeat_penalty,
            streaming=True,
            verbose=False,
        )
    except ValueError as err:
        raise LLMError(N_("cannot load local model {path}: {error}"), path=path, error=err) from err


class RefusalMargin:
    """A llama.cpp logits processor for one answer: while the answer so far is the start of a
    refusal, the refusal's next token loses `margin` from its logit, so the model refuses only
    when it prefers refusing by more than that (e^2 ≈ 7 times as likely, for a margin of 2).

    The bundled 0.5B model refused a quarter of the seeds questions whose passages it could
    answer, while its refusals of questions the notes do not answer are nearly certain (the
    Chinese refusal's first token at p ≈ 0.9, against at most 0.11 where the passages hold the
    answer); the margin separates the two (docs/quality.md). One
    instance per answer: the length of the first call's tokens is where the answer starts."""

    def __init__(self, refusals: list[list[int]], margin: float) -> None:
        self.refusals = refusals
        self.margin = margin
        self.answer_start: int | None = None

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.answer_start is None:
            self.answer_start = len(input_ids)
        answer = input_ids[self.answer_start :].tolist()
        for refusal in self.refusals:
            if len(answer) < len(refusal) and refusal[: len(answer)] == answer:
                scores[refusal[len(answer)]] -= self.margin
        return scores


def answer_call_options(
    llm: BaseChatModel, profile: LlamaCppProfile, refusals: Sequence[str]
) -> CallOptions:
    """Per-answer call options: the temperature asked for, and a fresh `RefusalMargin` over
    `refusals` (unless the profile's margin is 0)."""
    from llama_cpp import LogitsProcessorList

    client = llm.client  # the llama_cpp.Llama behind ChatLlamaCpp
    tokens = [client.tokenize(text.encode("utf-8"), add_bos=False) for text in refusals]

    def options(temperature: float | None) -> dict[str, Any]:
        chosen: dict[str, Any] = {} if temperature is None else {"temperature": temperature}
        if profile.refusal_margin:
            margin = RefusalMargin(tokens, profile.refusal_margin)
            chosen["logits_processor"] = LogitsProcessorList([margin])
        return chosen

    return options


def exact_token_counter(llm: BaseChatModel) -> Callable[[str], int]:
    client = llm.client
    return lambda text: len(client.tokenize(text.encode("utf-8"), add_bos=False))


def describe(profile: LlamaCppProfile) -> str:
    adapter = f" + LoRA {profile.lora_path.name}" if profile.lora_path else ""
    missing = "" if profile.model_path.is_file() else _("model file missing: run `make install`")
    line = f"{profile.model_path.name}{adapter} " + _("(local, llama.cpp)")
    return f"{line} · {missing}" if missing else line


def explain(error: Exception) -> LLMError | None:
    text = str(error).lower()
    if "context" in text and ("exceed" in text or "length" in text):
        return LLMError(
            N_(
                "the prompt is longer than the model's context window: "
                "lower retrieval.context_tokens, or raise n_ctx"
            )
        )
    return None


BACKEND = Backend(
    build=build_llamacpp,
    describe=describe,
    # One llama.cpp context takes one call at a time: concurrent calls abort the process.
    exclusive=True,
    # llama.cpp keeps the KV cache of one prompt, so a side task between two answers made the
    # next answer re-read the fixed prompt prefix (~0.6 s on 2 cores): a second context over
    # the same memory-mapped weights keeps both prefixes cached (translated questions: TTFT p50
    # 2.79 -> 1.73 s, docs/benchmarks.md).
    separate_helper=True,
    call_options=answer_call_options,
    token_counter=exact_token_counter,
    explain=explain,
)
