"""Choosing and building chat models from config, without running a model."""

import pytest

from config import ConfigError, LlamaCppProfile, OpenAIProfile, load_settings
from llms import LLMError, build_chat_model


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_committed_profiles_and_switching_by_environment(monkeypatch):
    settings = load_settings()
    assert isinstance(settings.llm.active, LlamaCppProfile)
    assert {"local", "openai", "vllm"} <= set(settings.llm.profiles)
    monkeypatch.setenv("RAGCHAT_LLM__PROFILE", "vllm")
    switched = load_settings().llm.active
    assert isinstance(switched, OpenAIProfile) and switched.base_url.endswith("/v1")


def test_unknown_profile_lists_the_defined_ones(tmp_path):
    with pytest.raises(
        ConfigError, match=r"profile 'gpt5' is not defined; available: local, openai"
    ):
        load_settings(write(tmp_path, '[llm]\nprofile = "gpt5"\n'))


def test_unknown_backend_lists_the_allowed_ones(tmp_path):
    text = '[llm]\nprofile = "x"\n[llm.profiles.x]\nbackend = "claude"\n'
    with pytest.raises(ConfigError, match=r"llm.profiles.x.*'llamacpp', 'openai'"):
        load_settings(write(tmp_path, text))


def test_local_model_path_is_relative_to_the_config(tmp_path):
    text = '[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "models/m.gguf"\n'
    settings = load_settings(write(tmp_path, text))
    assert settings.llm.profiles["local"].model_path == tmp_path / "models" / "m.gguf"


def test_missing_api_key_is_explained(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMError, match="no OpenAI API key: set OPENAI_API_KEY"):
        build_chat_model(OpenAIProfile())


def test_api_key_never_shows_in_settings_output():
    profile = OpenAIProfile(api_key="sk-secret-value")
    assert "sk-secret-value" not in repr(profile) and "sk-secret-value" not in str(
        profile.model_dump()
    )


def test_missing_local_model_file_is_explained(tmp_path):
    with pytest.raises(LLMError, match="local model file not found"):
        build_chat_model(LlamaCppProfile(model_path=tmp_path / "nope.gguf"))


def test_damaged_bundled_model_fails_its_checksum(tmp_path):
    fake = tmp_path / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(LLMError, match="fails its sha256 check"):
        build_chat_model(LlamaCppProfile(model_path=fake))
