"""A `ChunkFilter` as a Milvus filter expression over the rows' `metadata` (JSON), so that the
server finds the matching chunks. The expression lets through at least what the filter
matches (a folder's `like` pattern may take in a little more when the folder's name has `%` or
`_`); `ChunkFilter.matches` then decides on the metadata of what came back.

A filtered question's searches send that same expression again, not the ids it matched (an
`id in [...]` of a broad filter is as long as the corpus): `MatchingIds` carries it along."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta

from index.filters import ChunkFilter


def filter_expression(chunk_filter: ChunkFilter) -> str:
    """The conditions, AND-ed; "" matches every row."""
    parts = [
        _one_of("source", chunk_filter.sources),
        _one_of("type", chunk_filter.types),
        _one_of("language", chunk_filter.languages),
        _either(_folder(f) for f in sorted(chunk_filter.folders)),
        _tags(chunk_filter.tags),
        _dates(chunk_filter.modified_after, chunk_filter.modified_before),
    ]
    return " and ".join(f"({part})" for part in parts if part)


LIKE_WILDCARDS = "%_\\"


def selects_exactly(chunk_filter: ChunkFilter) -> bool:
    """Whether `filter_expression` selects just what the filter matches (no folder name that
    its `like` pattern would read as a wildcard)."""
    return not any(c in folder for folder in chunk_filter.folders for c in LIKE_WILDCARDS)


class MatchingIds(set[str]):
    """The ids a filter matched, and an expression that selects exactly them on the server
    ("": none, then a search sends the ids)."""

    def __init__(self, ids: Iterable[str], expression: str) -> None:
        super().__init__(ids)
        self.expression = expression


def search_filter(allowed: Collection[str]) -> str:
    """The expression a search sends to keep to `allowed`: the filter's that matched them, or
    the ids themselves."""
    if isinstance(allowed, MatchingIds) and allowed.expression:
        return allowed.expression
    return f"id in {json.dumps(sorted(allowed))}"


def _key(name: str) -> str:
    return f"metadata[{json.dumps(name)}]"


def _either(conditions: Iterable[str]) -> str:
    return " or ".join(conditions)


def _one_of(name: str, values: frozenset[str]) -> str:
    return _either(f"{_key(name)} == {json.dumps(v)}" for v in sorted(values))


def _folder(folder: str) -> str:
    pattern = folder.replace("\\", "\\\\").replace('"', '\\"')
    return f'{_key("folder")} == {json.dumps(folder)} or {_key("folder")} like "{pattern}/%"'


def _tags(tags: frozenset[str]) -> str:
    return f"json_contains_any({_key('tags')}, {json.dumps(sorted(tags))})" if tags else ""


def _dates(after: date | None, before: date | None) -> str:
    """Days in local time, as `ChunkFilter` reads them, as bounds on the timestamp."""
    bounds = []
    if after is not None:
        bounds.append(f"{_key('modified')} >= {_timestamp(after)}")
    if before is not None:
        bounds.append(f"{_key('modified')} < {_timestamp(before + timedelta(days=1))}")
    return " and ".join(bounds)


def _timestamp(day: date) -> float:
    return datetime.combine(day, time.min).timestamp()
