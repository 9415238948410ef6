"""Stored source cards checked against the knowledge base as it is now.

A stored answer's cards keep the chunk ids and offsets they cited. Chunk ids are made from the
file, the chunk's position and its text's hash, so a chunk id that is no longer among its file's
ids means the passage is not in the index as it was when the answer was given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from history.store import Turn
from index.store import Manifest

GONE = "the document is no longer in the knowledge base"
CHANGED = "the document has changed since this answer"


def source_note(source: Mapping[str, Any], manifest: Manifest | None) -> str:
    """Why a stored card may no longer match its document ("" when its chunk is still indexed).
    `manifest` is None when the knowledge base has no index (or no longer exists)."""
    record = manifest.files.get(source["source"]) if manifest is not None else None
    if record is None:
        return GONE
    if source["id"] not in record.chunk_ids:
        return CHANGED
    return ""


def with_notes(turns: Sequence[Turn], manifest: Manifest | None) -> list[Turn]:
    """Copies of stored turns whose source cards carry a `note` where `source_note` has one."""
    noted = []
    for turn in turns:
        sources = [{**s, "note": source_note(s, manifest)} for s in turn["sources"]]
        noted.append(Turn(**{**turn, "sources": sources}))
    return noted
