"""Which chunks a question may find: by file, folder, type, language, tag and modification date.

The retriever applies a `ChunkFilter` to both searches before they are fused, so k passages
still come back when enough chunks match. Several values of one kind are alternatives (OR),
different kinds must all hold (AND). A chunk that lacks a key a filter asks about (an index
built before chunks had metadata) does not match.

Every face writes filters the same way, `KEY=VALUE` (`parse_filters`): `ask.py --filter`, the
API's `filter` field (`filter_from_mapping`), and the app's sidebar builds a `ChunkFilter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath
from typing import Any

from loaders.metadata import TYPE_ALIASES

KEYS = {
    "source": "sources",
    "folder": "folders",
    "type": "types",
    "lang": "languages",
    "language": "languages",
    "tag": "tags",
}
"""Filter keys naming sets of values, and the `ChunkFilter` field each fills."""
DATE_KEYS = {"after": "modified_after", "before": "modified_before"}
"""Filter keys naming a day (YYYY-MM-DD, inclusive), and the field each sets."""
FILTER_HELP = (
    "only search matching chunks (repeatable): folder=, type=, lang=, tag=, source=, "
    "after=YYYY-MM-DD, before=YYYY-MM-DD; one kind's values are OR-ed, kinds AND-ed"
)
"""What `--filter KEY=VALUE` means, for every command line that has it."""


@dataclass(frozen=True)
class ChunkFilter:
    """What a chunk's metadata must match; an empty set or None leaves that kind open."""

    sources: frozenset[str] = frozenset()
    """Files (`source` names, as the index lists them)."""
    folders: frozenset[str] = frozenset()
    """Folders relative to the documents folder; each includes its subfolders."""
    types: frozenset[str] = frozenset()
    """File types: md, pdf, txt, html, docx, ..."""
    languages: frozenset[str] = frozenset()
    """Languages of the chunk's text: zh, en."""
    tags: frozenset[str] = frozenset()
    """Tags of the file (sidecar `.tags` file or Markdown front matter)."""
    modified_after: date | None = None
    """Files modified on this day or later (local time)."""
    modified_before: date | None = None
    """Files modified on this day or earlier (local time)."""

    @property
    def is_empty(self) -> bool:
        return self == ChunkFilter()

    def matches(self, metadata: Mapping[str, Any]) -> bool:
        """Whether a chunk with this metadata may be returned."""
        return (
            _one_of(self.sources, metadata.get("source"))
            and _one_of(self.types, metadata.get("type"))
            and _one_of(self.languages, metadata.get("language"))
            and (not self.folders or _in_folders(metadata.get("folder"), self.folders))
            and (not self.tags or not self.tags.isdisjoint(metadata.get("tags") or ()))
            and self._in_dates(metadata.get("modified"))
        )

    def _in_dates(self, modified: float | None) -> bool:
        if self.modified_after is None and self.modified_before is None:
            return True
        if not isinstance(modified, int | float):
            return False
        day = datetime.fromtimestamp(modified).date()
        after, before = self.modified_after or date.min, self.modified_before or date.max
        return after <= day <= before


def parse_filters(items: Iterable[str]) -> ChunkFilter:
    """A filter from `KEY=VALUE` items, e.g. `folder=notes`, `type=pdf`, `lang=zh`, `tag=exam`,
    `after=2026-01-01`, `before=2026-12-31`, `source=notes/a.md`. Raises ValueError saying which
    item is wrong and why."""
    sets: dict[str, set[str]] = {name: set() for name in KEYS.values()}
    dates: dict[str, date] = {}
    for item in items:
        key, separator, raw = item.partition("=")
        key, value = key.strip().lower(), raw.strip()
        if not separator or not key:
            raise ValueError(f"filter {item!r} is not KEY=VALUE; keys: {_key_list()}")
        if not value:
            raise ValueError(f"filter {item!r} has no value")
        if key in DATE_KEYS:
            dates[DATE_KEYS[key]] = _day(item, value)
        elif key in KEYS:
            sets[KEYS[key]].add(_clean(key, value, item))
        else:
            raise ValueError(f"unknown filter key {key!r} in {item!r}; keys: {_key_list()}")
    after, before = dates.get("modified_after"), dates.get("modified_before")
    if after and before and after > before:
        raise ValueError(f"filter after={after} is later than before={before}: nothing can match")
    return ChunkFilter(**{name: frozenset(values) for name, values in sets.items()}, **dates)


def filter_from_mapping(mapping: Mapping[str, str | Iterable[str]]) -> ChunkFilter:
    """A filter from `{KEY: VALUE or [VALUES]}` (the API's shape), with `parse_filters`' keys."""
    items = []
    for key, values in mapping.items():
        for value in [values] if isinstance(values, str) else values:
            items.append(f"{key}={value}")
    return parse_filters(items)


@dataclass
class Facets:
    """The values a knowledge base's chunks have, to offer as filter choices."""

    folders: set[str] = field(default_factory=set)
    """Every folder holding files, with the folders above it."""
    types: set[str] = field(default_factory=set)
    languages: set[str] = field(default_factory=set)
    tags: set[str] = field(default_factory=set)
    oldest: date | None = None
    newest: date | None = None


def facets(metadatas: Iterable[Mapping[str, Any]]) -> Facets:
    """The filter choices that chunks with these metadata offer."""
    found = Facets()
    days: list[date] = []
    for metadata in metadatas:
        if folder := metadata.get("folder"):
            path = PurePosixPath(folder)
            found.folders.update(p.as_posix() for p in (path, *path.parents) if p.name)
        for name, key in (("types", "type"), ("languages", "language")):
            if value := metadata.get(key):
                getattr(found, name).add(value)
        found.tags.update(metadata.get("tags") or ())
        if isinstance(modified := metadata.get("modified"), int | float):
            days.append(datetime.fromtimestamp(modified).date())
    if days:
        found.oldest, found.newest = min(days), max(days)
    return found


def _one_of(allowed: frozenset[str], value: Any) -> bool:
    return not allowed or value in allowed


def _in_folders(folder: Any, folders: frozenset[str]) -> bool:
    if not isinstance(folder, str):
        return False
    return any(folder == wanted or folder.startswith(wanted + "/") for wanted in folders)


def _clean(key: str, value: str, item: str) -> str:
    """A value as the index stores it: folders without outer slashes, types and languages in
    lower case, types without a leading dot and by their one name (markdown -> md)."""
    if key == "folder":
        value = value.strip("/")
        if not value:
            raise ValueError(f"filter {item!r}: name a folder (every file is under the top)")
    if key in ("lang", "language"):
        value = value.lower()
    if key == "type":
        value = value.lower().lstrip(".")
        value = TYPE_ALIASES.get(value, value)
    return value


def _day(item: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"filter {item!r}: {value!r} is not a date (YYYY-MM-DD)") from None


def _key_list() -> str:
    return ", ".join([*(key for key in KEYS if key != "language"), *DATE_KEYS])
