"""mkdocs hook: the configuration reference, rendered from `config.py` at build time.

`docs/configuration.md` holds the introduction and a marker; this hook replaces the marker with
one section per settings section (and one per LLM profile type), each a table of the fields:
name, type, default, environment variable and description. The description is the field's
docstring (`use_attribute_docstrings=True`), so the reference cannot drift from the code.
`tests/test_docs.py` renders it too.
"""

from __future__ import annotations

import enum
import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, SecretStr

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- config-reference -->"
PAGE = "configuration.md"

_SCALARS = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    SecretStr: "secret string",
}


def _config_module() -> types.ModuleType:
    """Import `config` from the repository root."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import config

    return config


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation names (a union of profiles inside a dict, say)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        for model in _models_in(arg):
            if model not in found:
                found.append(model)
    return found


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f'`"{value}"`' for value in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        models = _models_in(annotation)
        if models and len(models) == len(members):
            return "profile (" + ", ".join(f"`{model.__name__}`" for model in models) + ")"
        name = " or ".join(_type_name(arg) for arg in members)
        return f"{name} (optional)" if len(members) < len(args) else name
    if origin is list:
        return f"list ({_type_name(args[0])})" if args else "list"
    if origin is dict:
        return f"table: name → {_type_name(args[1])}" if args else "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"`{annotation.__name__}`"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f'`"{member.value}"`' for member in annotation)
    return _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(metadata: list[Any]) -> str:
    signs = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
    parts = []
    for item in metadata:
        for name, sign in signs.items():
            if isinstance(item, annotated_types.BaseMetadata) and hasattr(item, name):
                parts.append(f"{sign} {getattr(item, name)}")
    return ", ".join(parts)


def _toml(value: Any) -> str:
    """A default as it would be written in config.toml."""
    if value is None:
        return "(none)"
    if isinstance(value, SecretStr):
        return "(set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _toml(value.value)
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return ", ".join(
            f"{name} ({getattr(item, 'backend', type(item).__name__)})"
            if isinstance(item, BaseModel)
            else f"{name} = {_toml(item)}"
            for name, item in value.items()
        )
    if isinstance(value, BaseModel):
        return f"`{type(value).__name__}()`"
    return repr(value)


def _cell(text: str) -> str:
    """Text fit for one table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def description(model: type[BaseModel], field: str) -> str:
    """A field's description as the reference shows it (its docstring, on one line)."""
    return _cell(model.model_fields[field].description or "")


def field_table(model: type[BaseModel], env_prefix: str) -> str:
    rows = [
        "| field | type | default | environment variable | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, info in model.model_fields.items():
        kind = _type_name(info.annotation)
        bounds = _bounds(info.metadata)
        if bounds:
            kind += f", {bounds}"
        default = _toml(info.get_default(call_default_factory=True))
        env = f"`{env_prefix}{name.upper()}`"
        cells = [f"`{name}`", _cell(kind), f"`{_cell(default)}`", env, description(model, name)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _intro(model: type[BaseModel]) -> str:
    own = model.__dict__.get("__doc__")
    return inspect.cleandoc(own) if own else ""


def sections() -> list[tuple[str, type[BaseModel], str]]:
    """(title, model, environment prefix) for every section and LLM profile type, in order."""
    config = _config_module()
    found: list[tuple[str, type[BaseModel], str]] = []
    for name, info in config.Settings.model_fields.items():
        (model,) = _models_in(info.annotation)
        prefix = f"RAGCHAT_{name.upper()}__"
        found.append((f"[{name}]", model, prefix))
        for field, sub in model.model_fields.items():
            if typing.get_origin(sub.annotation) is dict:
                for profile in _models_in(sub.annotation):
                    backend = profile.model_fields["backend"].default
                    title = f'[{name}.{field}.NAME] with backend = "{backend}"'
                    found.append((title, profile, f"{prefix}{field.upper()}__<NAME>__"))
    return found


def render() -> str:
    """The generated part of the configuration reference, as Markdown."""
    parts = []
    for title, model, prefix in sections():
        parts.append(f"## `{title}`")
        intro = _intro(model)
        if intro:
            parts.append(intro)
        parts.append(field_table(model, prefix))
    return "\n\n".join(parts) + "\n"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """mkdocs event: fill the marker of the configuration page."""
    if page.file.src_uri == PAGE:
        return markdown.replace(MARKER, render())
    return markdown
