"""The dequantized copy of a GGUF (llms.dequantized): made once, made again when the GGUF
changes, never half-written, and skipped with a warning where it cannot be written. The copy
of the real model is checked against the GGUF in tests/test_transformers_backend.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llms.dequantized import SOURCE_FILE, copy_folder, current_copy, dequantized_copy


class RecordingSave:
    """A `save` that writes a marker file and counts its calls, or fails as told."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls, self.fail = 0, fail

    def __call__(self, folder: Path) -> None:
        self.calls += 1
        (folder / "model.safetensors").write_text(f"weights {self.calls}")
        if self.fail is not None:
            raise self.fail


@pytest.fixture
def gguf(tmp_path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF version one")
    return path


def leftovers(gguf: Path) -> list[str]:
    return sorted(p.name for p in gguf.parent.iterdir() if p.name != gguf.name)


def test_the_copy_is_made_once_and_again_when_the_gguf_changes(gguf):
    save = RecordingSave()
    folder = dequantized_copy(gguf, save)
    assert folder == copy_folder(gguf) == current_copy(gguf)
    assert (folder / "model.safetensors").read_text() == "weights 1"
    assert dequantized_copy(gguf, save) == folder and save.calls == 1  # kept

    gguf.write_bytes(b"GGUF version two, longer")
    assert current_copy(gguf) is None
    assert dequantized_copy(gguf, save) == folder and save.calls == 2
    assert (folder / "model.safetensors").read_text() == "weights 2"
    assert leftovers(gguf) == [folder.name]


def test_a_failed_copy_leaves_nothing_and_says_so(gguf):
    save = RecordingSave(fail=OSError(28, "No space left on device"))
    with pytest.warns(UserWarning, match="No space left on device"):
        assert dequantized_copy(gguf, save) is None
    assert leftovers(gguf) == []


def test_a_broken_model_is_an_error_not_a_copy(gguf):
    with pytest.raises(ValueError, match="not a model"):
        dequantized_copy(gguf, RecordingSave(fail=ValueError("not a model")))
    assert leftovers(gguf) == []


def test_a_copy_without_its_source_record_is_not_used(gguf):
    folder = dequantized_copy(gguf, RecordingSave())
    (folder / SOURCE_FILE).unlink()  # as if written by hand, or by something else
    assert current_copy(gguf) is None
    assert dequantized_copy(gguf, RecordingSave()) == folder
    assert current_copy(gguf) == folder


def test_a_killed_copy_is_cleaned_up_by_the_next(gguf):
    """A process killed while writing leaves its scratch folder; the next copy removes it. A
    running process's scratch folder is left alone."""
    killed = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    abandoned = gguf.parent / f".{gguf.name}.{killed.stdout.strip()}.x1.partial"
    running = gguf.parent / f".{gguf.name}.{os.getppid()}.x2.partial"
    for scratch in (abandoned, running):
        scratch.mkdir()
        (scratch / "model.safetensors").write_text("half")
    assert dequantized_copy(gguf, RecordingSave()) == copy_folder(gguf)
    assert leftovers(gguf) == sorted([copy_folder(gguf).name, running.name])
