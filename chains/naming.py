"""The documents a question names: "What does passwd -a do?" asks about `passwd.1.txt`,
「json 模块怎样…」 about `json.html`. Neither dense nor keyword search knows that a word of the
question is a file's name, and in a manual whose pages all mention one another the page named
is often not the first hit; `HybridRetriever` also searches within the documents named
(`named_weight`). A name is a file's name without its extension and without a trailing
section or version number (`chage.1.txt` -> `chage`, `os.path.html` -> `os.path`).

Names in Latin script match whole words of the question (a dotted word also by its dotted
prefixes: `os.path.join` names `os.path` and `os`); names with other characters (Chinese file
names) match anywhere in it. Names shorter than two characters never match."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import PurePosixPath

_SECTION = re.compile(r"\.\d[a-z]?$")
"""A man page's section or a version number after the name: `chage.1`, `notes.2`."""
_WORD = re.compile(r"[a-z0-9_][a-z0-9_.+-]*[a-z0-9_+]|[a-z0-9_]", re.ASCII)
"""A Latin word of the question, dots and inner hyphens kept (`os.path.join`, `ssh-keygen`)."""
SHORTEST = 2


def document_name(source: str) -> str:
    """The name a question would call a file by (see the module)."""
    stem = PurePosixPath(source).name
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    return _SECTION.sub("", stem).casefold()


class DocumentNames:
    """Which of a knowledge base's files a question names. The table is made at the first
    question from `sources` (the manifest's file list, which opening an index does not read:
    a replica opens in the same time whatever the corpus)."""

    def __init__(self, sources: Callable[[], Iterable[str]]) -> None:
        self._sources = sources

    @cached_property
    def _tables(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Names in Latin script and the others, each with the sources it names."""
        latin: dict[str, list[str]] = defaultdict(list)
        other: dict[str, list[str]] = defaultdict(list)
        for source in self._sources():
            name = document_name(source)
            if len(name) >= SHORTEST:
                (latin if name.isascii() else other)[name].append(source)
        return latin, other

    def named_in(self, question: str) -> list[str]:
        """The sources the question names, in the order of their names in the table."""
        latin, other = self._tables
        text = question.casefold()
        named: list[str] = []
        for word in _WORD.findall(text):
            for prefix in _dotted_prefixes(word):
                named.extend(latin.get(prefix, ()))
        for name, sources in other.items():
            if name in text:
                named.extend(sources)
        return list(dict.fromkeys(named))


def _dotted_prefixes(word: str) -> list[str]:
    """`os.path.join` -> `os`, `os.path`, `os.path.join`."""
    parts = word.split(".")
    return [".".join(parts[: end + 1]) for end in range(len(parts))]
