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
from collections.abc import Iterable
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
    """Which of a knowledge base's files a question names; built once per opened index."""

    def __init__(self, sources: Iterable[str]) -> None:
        self.latin: dict[str, list[str]] = defaultdict(list)
        self.other: dict[str, list[str]] = defaultdict(list)
        for source in sources:
            name = document_name(source)
            if len(name) >= SHORTEST:
                (self.latin if name.isascii() else self.other)[name].append(source)

    def named_in(self, question: str) -> list[str]:
        """The sources the question names, in the order of their names in the table."""
        text = question.casefold()
        named: list[str] = []
        for word in _WORD.findall(text):
            for prefix in _dotted_prefixes(word):
                named.extend(self.latin.get(prefix, ()))
        for name, sources in self.other.items():
            if name in text:
                named.extend(sources)
        return list(dict.fromkeys(named))


def _dotted_prefixes(word: str) -> list[str]:
    """`os.path.join` -> `os`, `os.path`, `os.path.join`."""
    parts = word.split(".")
    return [".".join(parts[: end + 1]) for end in range(len(parts))]
