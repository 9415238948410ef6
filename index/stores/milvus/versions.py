"""The live version of the index kept in Milvus, so that replicas share nothing but the server.

A version's files (the manifest and the embedder's identity, `index.manifest`) are kept in a
small collection beside the knowledge base's builds, `<store.collection>__manifest`: each file's
text in parts of at most `TEXT_LENGTH` characters under `<version>/<file>/<part>`, and one row
`live` naming the live version and its parts. A save writes the new version's parts, then
replaces `live` in one upsert (the switch every reader sees at once, a rebuild's new collection
too), then deletes the parts of the versions before. So a crash before the switch leaves the
previous version live, and a reader that read `live` just before a switch finds its parts gone
and reads `live` again (`index.versions`).
"""

from __future__ import annotations

import json
from typing import Any

from config import StoreSettings
from i18n import N_
from index.errors import REPAIR_COMMAND, IndexCorruptError
from index.stores.milvus.client import (
    TEXT_LENGTH,
    UNUSED,
    connect,
    create_side_collection,
    every_row,
)

LIVE = "live"
BATCH = 100
"""Parts written in one insert (at most 6.5 MB of text)."""


def manifest_collection(settings: StoreSettings) -> str:
    return f"{settings.collection}__manifest"


class MilvusVersions:
    """The versions of one knowledge base in its Milvus database (`VersionKeeper`)."""

    def __init__(self, settings: StoreSettings) -> None:
        self.client = connect(settings)
        self.collection = manifest_collection(settings)
        self.settings = settings

    def live(self) -> str | None:
        """The live version's name; None before the first save that kept it here."""
        pointer = self._pointer()
        return pointer["version"] if pointer else None

    def read(self, name: str) -> dict[str, str] | None:
        """The version's files by name; None when it is no longer the live one (replaced
        while it was being read)."""
        pointer = self._pointer()
        if pointer is None or pointer["version"] != name:
            return None
        keys = [
            _key(name, file, n) for file, parts in pointer["files"].items() for n in range(parts)
        ]
        found = {}
        for begin in range(0, len(keys), BATCH):
            batch = keys[begin : begin + BATCH]
            found |= {r["key"]: r["text"] for r in self.client.get(self.collection, ids=batch)}
        if len(found) < len(keys):
            return None
        return {
            file: _unescaped("".join(found[_key(name, file, n)] for n in range(parts)))
            for file, parts in pointer["files"].items()
        }

    def write(self, name: str, files: dict[str, str]) -> None:
        """Keep the version's files, switch `live` to it, then delete the versions before."""
        if not self.client.has_collection(self.collection):
            create_side_collection(self.client, self.collection, "key", _text_field())
        self.client.load_collection(self.collection)
        escaped = {file: _escaped(text) for file, text in files.items()}
        rows = [
            _row(_key(name, file, n), text[begin : begin + TEXT_LENGTH])
            for file, text in escaped.items()
            for n, begin in enumerate(range(0, max(len(text), 1), TEXT_LENGTH))
        ]
        for begin in range(0, len(rows), BATCH):
            self.client.insert(self.collection, rows[begin : begin + BATCH])
        self.client.flush(self.collection)
        parts = {file: -(-len(text) // TEXT_LENGTH) or 1 for file, text in escaped.items()}
        self.client.upsert(
            self.collection, [_row(LIVE, json.dumps({"version": name, "files": parts}))]
        )
        self.client.flush(self.collection)
        stale = [
            r["key"]
            for r in every_row(self.client, self.collection, ["key"])
            if r["key"] != LIVE and not r["key"].startswith(f"{name}/")
        ]
        for begin in range(0, len(stale), BATCH):
            self.client.delete(self.collection, ids=stale[begin : begin + BATCH])

    def _pointer(self) -> dict | None:
        """The `live` row (asked before each question of a running replica: 2-5 ms on Milvus
        Lite; a `get` tried first would have pymilvus log an error for a missing collection)."""
        if not self.client.has_collection(self.collection):
            return None
        self.client.load_collection(self.collection)  # Milvus Lite reopens it released
        rows = self.client.get(self.collection, ids=[LIVE], output_fields=["text"])
        if not rows:
            return None
        try:
            pointer = json.loads(rows[0]["text"])
            return {"version": str(pointer["version"]), "files": dict(pointer["files"])}
        except (ValueError, KeyError, TypeError):
            raise IndexCorruptError(
                N_(
                    "the live version named in the Milvus collection {collection} at {uri} is "
                    "not readable; run `{repair}`"
                ),
                collection=self.collection,
                uri=self.settings.uri,
                repair=REPAIR_COMMAND,
            ) from None


def drop_versions(client: Any, settings: StoreSettings) -> None:
    if client.has_collection(manifest_collection(settings)):
        client.drop_collection(manifest_collection(settings))


def _key(name: str, file: str, part: int) -> str:
    return f"{name}/{file}/{part:06d}"


def _escaped(text: str) -> str:
    """ASCII, so that a part's characters are its bytes (Milvus counts a VARCHAR's bytes)."""
    return text.encode("unicode_escape").decode("ascii")


def _unescaped(text: str) -> str:
    return text.encode("ascii").decode("unicode_escape")


def _row(key: str, text: str) -> dict:
    return {"key": key, "text": text, "unused": UNUSED}


def _text_field() -> dict[str, Any]:
    from pymilvus import DataType

    return {"text": {"datatype": DataType.VARCHAR, "max_length": TEXT_LENGTH}}
