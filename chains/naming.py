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
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

_SECTION = re.compile(r"\.\d[a-z]?$")
"""A man page's section or a version number after the name: `chage.1`, `notes.2`."""
_WORD = re.compile(r"[a-z0-9_][a-z0-9_.+-]*[a-z0-9_+]|[a-z0-9_]", re.ASCII)
"""A Latin word of the question, dots and inner hyphens kept (`os.path.join`, `ssh-keygen`)."""
_WORD_ANY_CASE = re.compile(_WORD.pattern, re.ASCII | re.IGNORECASE)
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


def without_names(text: str, names: Iterable[str]) -> str:
    """The text with these document names taken out (whole words; names in other scripts
    anywhere): within the named document its name is in almost every window, so it only
    favours the windows that repeat it."""
    wanted = set(names)
    kept = _WORD_ANY_CASE.sub(lambda m: " " if m.group().casefold() in wanted else m.group(), text)
    for name in wanted:
        if not name.isascii():
            kept = kept.replace(name, " ")
    return kept


def _dotted_prefixes(word: str) -> list[str]:
    """`os.path.join` -> `os`, `os.path`, `os.path.join`."""
    parts = word.split(".")
    return [".".join(parts[: end + 1]) for end in range(len(parts))]


_OPTION = re.compile(r"(?<![A-Za-z0-9_-])--?[A-Za-z0-9][A-Za-z0-9_-]*")
"""A command-line option in a question: `-a`, `--all`, `-name` (not `ssh-keygen`'s dash)."""
_OPTION_END = r"(?![A-Za-z0-9_-])"
_ENTRY = re.compile(r"^[ \t]*--?[A-Za-z0-9]", re.MULTILINE)
"""A line that begins an option's entry in a manual (`-a, --all`, `--retry`)."""


@dataclass(frozen=True)
class Window:
    """A chunk of a document: its id, where it starts in the document, its text."""

    key: str
    start: int
    text: str


def options_in(question: str) -> list[str]:
    """The command-line options a question asks about, as written (`-I` is not `-i`)."""
    return list(dict.fromkeys(_OPTION.findall(question)))


def option_windows(windows: list[Window], options: list[str]) -> list[str]:
    """The ids of a document's windows that hold the entries of these options, the window
    holding most of them first: an entry runs from the line that begins with the option to the
    next line that begins with one (at most the longest window's length). Without an entry,
    the windows that mention an option (after a space or bracket), in the document's order.
    Keyword search cannot find either: its tokens lose the dashes, and `-a` is then the stop
    word `a`. `windows` are the document's overlapping windows in the document's order."""
    alternatives = "|".join(re.escape(option) for option in options)
    defines = re.compile(rf"^[ \t]*(?:{alternatives}){_OPTION_END}", re.MULTILINE)
    defined = _positions(windows, defines)
    if not defined:
        mentions = re.compile(rf"(?:^|(?<=[\s(\[|,/]))(?:{alternatives}){_OPTION_END}", re.M)
        return [window.key for window in windows if mentions.search(window.text)]
    entries = _positions(windows, _ENTRY)
    longest = max(len(window.text) for window in windows)
    spans = [
        (begin, min(next((p for p in entries if p > begin), begin + longest), begin + longest))
        for begin in defined
    ]
    held = {
        window.key: sum(
            max(0, min(window.start + len(window.text), end) - max(window.start, begin))
            for begin, end in spans
        )
        for window in windows
    }
    return sorted((key for key, size in held.items() if size > 0), key=lambda key: -held[key])


def _positions(windows: list[Window], pattern: re.Pattern[str]) -> list[int]:
    """Where in the document the pattern matches, each place once. A match touching a
    window's edge is left to the overlapping neighbour that sees the whole line around it."""
    found = set()
    for window in windows:
        for match in pattern.finditer(window.text):
            cut_at_start = match.start() == 0 and window.start > 0
            if not cut_at_start and match.end() < len(window.text):
                found.add(window.start + match.start())
    return sorted(found)
