"""A GGUF model dequantized once into transformers' own format, kept beside the GGUF.

transformers reads a GGUF by parsing all of its metadata (the whole vocabulary, through numpy
memmaps) three times per load and dequantizing every tensor: about 36 s for the bundled 0.5B
model on 2 cores, before each `finetune.py` command and each start of a `transformers` profile.
The float32 model it produces, saved with its config and tokenizer as safetensors, loads in
about 3 s with the same weights and the same tokenizer (docs/benchmarks.md, "Loading a GGUF with
transformers"). transformers has no cache for this, so
it is kept here: made on first use, next to the GGUF (`<file>.gguf.transformers/`), and made
again when the GGUF changes. It is written into a temporary folder and renamed into place, so an
interrupted or failed copy is never used; where it cannot be written, the GGUF is read as before.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import psutil

COPY_SUFFIX = ".transformers"
SOURCE_FILE = "source.json"
"""What the copy was made from (the GGUF's size and modification time)."""
SCRATCH = ".partial"
"""Suffix of the folder a copy is written in, `.<file>.<pid>.<random>.partial`."""


def copy_folder(gguf: Path) -> Path:
    return gguf.with_name(gguf.name + COPY_SUFFIX)


def describe_source(gguf: Path) -> dict[str, int]:
    status = gguf.stat()
    return {"size": status.st_size, "mtime_ns": status.st_mtime_ns}


def current_copy(gguf: Path) -> Path | None:
    """The GGUF's dequantized copy, if one was made from the GGUF as it is now."""
    folder = copy_folder(gguf)
    return folder if _made_from(folder) == describe_source(gguf) else None


def dequantized_copy(gguf: Path, save: Callable[[Path], None]) -> Path | None:
    """The folder holding `gguf` in transformers' format: the current copy, or a new one that
    `save(folder)` writes (the model and tokenizer loaded from the GGUF). None, with a warning,
    where the copy cannot be written (a read-only folder, a full disk): load the GGUF itself."""
    found = current_copy(gguf)
    if found is not None:
        return found
    source = describe_source(gguf)
    _remove_abandoned_scratch(gguf)
    scratch = None
    try:
        scratch = Path(
            tempfile.mkdtemp(prefix=f".{gguf.name}.{os.getpid()}.", suffix=SCRATCH, dir=gguf.parent)
        )
        save(scratch)
        (scratch / SOURCE_FILE).write_text(json.dumps(source), encoding="utf-8")
        return _move_into_place(scratch, copy_folder(gguf), source)
    except OSError as err:
        message = f"no dequantized copy of {gguf} kept ({err}): each load reads the GGUF"
        warnings.warn(message, stacklevel=2)
        return None
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _remove_abandoned_scratch(gguf: Path) -> None:
    """Delete the scratch folders of copies whose process is gone (killed while writing ~5x the
    GGUF's size); those of running processes are theirs to finish."""
    for scratch in gguf.parent.glob(f".{glob.escape(gguf.name)}.*{SCRATCH}"):
        pid = scratch.name[len(gguf.name) + 2 :].split(".")[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(scratch, ignore_errors=True)


def _made_from(folder: Path) -> dict | None:
    try:
        return json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _move_into_place(scratch: Path, folder: Path, source: dict[str, int]) -> Path:
    """Rename the finished copy into place, replacing an outdated one. When another process
    finished the same copy first, its copy is kept (it is as good as this one)."""
    if _made_from(folder) == source:
        return folder
    if folder.is_dir():
        shutil.rmtree(folder)
    try:
        os.rename(scratch, folder)
    except OSError:
        if _made_from(folder) != source:  # not another process's copy: a real failure
            raise
    return folder
