"""The `transformers` backend on the bundled model (dequantized from its GGUF), with and without
a peft LoRA adapter: how a fine-tuned model is served."""

import pytest

from config import TransformersProfile, load_settings
from llms import LLMError, build_chat_model
from tests.conftest import REPO

MODELS = REPO / ".ragchat" / "models"
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
