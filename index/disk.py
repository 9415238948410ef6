"""Index files read defensively and written durably: a file that is missing, unreadable, not
JSON or of the wrong shape is `damaged` (naming it), and a write is fsynced before it counts."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from index.errors import damaged

Parsed = TypeVar("Parsed")


def read_json(path: Path) -> object:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise damaged("missing", path) from None
    except OSError as err:
        raise damaged(f"unreadable: {err.strerror}", path) from None
    return parse_json(data, path)


def parse_json(data: bytes, path: Path) -> object:
    """`data`, read from `path`, as JSON."""
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise damaged("not JSON: not UTF-8 text", path) from None
    except ValueError as err:
        raise damaged(f"not JSON: {err}", path) from None


def validated(adapter: TypeAdapter[Parsed], data: object, path: Path) -> Parsed:
    try:
        return adapter.validate_python(data)
    except ValidationError as err:
        raise damaged(f"wrong shape: {describe(err)}", path) from None


def describe(err: ValidationError) -> str:
    """Pydantic's first complaint in one line: where, and what."""
    problem = err.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else problem["msg"]


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
