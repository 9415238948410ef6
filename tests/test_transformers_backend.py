"""The `transformers` backend on the bundled model (dequantized from its GGUF), with and without
a peft LoRA adapter: how a fine-tuned model is served."""

import pytest

from config import TransformersProfile, load_settings
from llms import LLMError, build_chat_model
from llms.dequantized import copy_folder
from llms.transformers_backend import load_causal_lm, load_tokenizer, model_source
from tests.support.paths import REPO

MODELS = REPO / ".ragchat" / "models"
GGUF = TransformersProfile().gguf_file
QUESTION = "Reply with one word: hello"


@pytest.mark.slow
def test_base_model_and_a_lora_adapter_answer(tmp_path):
    from peft import LoraConfig, PeftModel, get_peft_model

    base = build_chat_model(TransformersProfile(model=str(MODELS), max_tokens=8))
    answer = base.invoke(QUESTION).content
    assert "hello" in answer.lower()
    assert len([c for c in base.stream("Count: 1 2 3") if c.content]) > 1  # it streams

    # A fresh LoRA adapter starts as a no-op (B = 0): served on top of the base, greedy output
    # must be the same, which shows the adapter is loaded and applied without breaking the model.
    adapter = tmp_path / "adapter"
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"])
    get_peft_model(base.llm.pipeline.model, lora).save_pretrained(str(adapter))
    profile = TransformersProfile(model=str(MODELS), adapter_path=adapter, max_tokens=8)
    tuned = build_chat_model(profile)
    assert isinstance(tuned.llm.pipeline.model, PeftModel)
    assert tuned.invoke(QUESTION).content == answer


@pytest.mark.slow
def test_the_kept_dequantized_copy_is_the_gguf_model():
    """Loads after the first read the GGUF's float32 copy: it must hold the same tokenizer (chat
    template included) and the same weights as the GGUF transformers dequantizes."""
    import torch

    source = model_source(str(MODELS), GGUF, keep_dequantized=True)
    assert source == (str(copy_folder(MODELS / GGUF)), None)
    assert model_source(str(MODELS), GGUF, keep_dequantized=False) == (str(MODELS), GGUF)
    copied = load_tokenizer(*source), load_causal_lm(*source)
    dequantized = load_tokenizer(str(MODELS), GGUF), load_causal_lm(str(MODELS), GGUF)
    messages = [
        {"role": "system", "content": "只根据段落回答，并标出 [1]。"},
        {"role": "user", "content": "What does beam search keep at each step? 束搜索"},
    ]
    prompts = [
        tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        for tokenizer, _ in (copied, dequantized)
    ]
    assert prompts[0] == prompts[1]
    ids = [
        tokenizer(prompts[0], return_tensors="pt").input_ids
        for tokenizer, _ in (copied, dequantized)
    ]
    assert torch.equal(ids[0], ids[1])
    with torch.no_grad():
        logits = [model(ids[0]).logits for _, model in (copied, dequantized)]
    assert torch.equal(logits[0], logits[1])


def test_missing_model_and_adapter_are_explained(tmp_path):
    with pytest.raises(LLMError, match="cannot load model"):
        build_chat_model(TransformersProfile(model=str(tmp_path / "none"), gguf_file=None))
    with pytest.raises(LLMError, match="LoRA adapter not found"):
        build_chat_model(TransformersProfile(model=str(MODELS), adapter_path=tmp_path / "nope"))


def test_transformers_profile_from_config(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text(
        '[llm]\nprofile = "tuned"\n[llm.profiles.tuned]\nbackend = "transformers"\n'
        'model = "models"\nadapter_path = "out/adapter"\n',
        encoding="utf-8",
    )
    (tmp_path / "models").mkdir()
    active = load_settings(config).llm.active
    assert isinstance(active, TransformersProfile)
    assert active.model == str(tmp_path / "models")
    assert active.adapter_path == tmp_path / "out" / "adapter"
