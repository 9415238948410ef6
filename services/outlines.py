"""Every document's outline (`chains.outline`), kept in a small SQLite file beside the knowledge
base's index (`<index>-outlines.sqlite3`: inside a named knowledge base's folder), keyed by
file and by a hash of the file's indexed text.

`OutlineStore.sync` runs after each ingest: it outlines the files whose text changed (or that
have no outline yet) and forgets those no longer indexed, so its cost follows what changed.
Summaries and overviews read the outlines (`services.answering`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from langchain_core.documents import Document

from chains.outline import (
    DEFAULT_SHAPE,
    OutlineLine,
    OutlineShape,
    SentenceUnits,
    document_text,
    outline,
)
from chains.rerank import SentenceSimilarity
from index.knowledge_base import KnowledgeBase
from index.records import sentence_unit_limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outlines (
    source TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    lines TEXT NOT NULL
)
"""


def outline_path(index: Path) -> Path:
    """Where the outlines of the index at `index` are kept."""
    return index.with_name(f"{index.name}-outlines.sqlite3")


OUTLINED_CHUNKS = 5_000
"""Outlines are kept for knowledge bases up to this many chunks. Outlining opens the live index
again and reads every chunk with its sentence vectors in the ingesting process: for a 50 MB file
(11,000 windows of 2,000 characters) that took the ingest's peak memory from under 1.5 GiB to
2.4 GiB. Beyond it, summaries and overviews are answered from retrieval alone, until outlines
read only the files that changed."""


@dataclass
class OutlineSync:
    """What one `sync` did."""

    outlined: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    seconds: float = 0.0


class OutlineStore:
    """The outlines of one knowledge base's documents."""

    def __init__(self, path: Path, shape: OutlineShape = DEFAULT_SHAPE) -> None:
        self.path = path
        self.shape = shape

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path)
        connection.execute(_SCHEMA)
        return connection

    def sync(self, knowledge_base: KnowledgeBase) -> OutlineSync:
        """Outline the documents whose indexed text changed; forget the ones removed."""
        started = time.perf_counter()
        report = OutlineSync()
        by_source = _chunks_by_source(knowledge_base.documents())
        units = _units(knowledge_base)
        with self._connect() as connection:
            stored = dict(connection.execute("SELECT source, digest FROM outlines"))
            for source in sorted(set(stored) - set(by_source)):
                connection.execute("DELETE FROM outlines WHERE source = ?", (source,))
                report.removed.append(source)
            for source, chunks in sorted(by_source.items()):
                digest = hashlib.sha256(document_text(chunks).encode()).hexdigest()
                if stored.get(source) == digest:
                    report.unchanged += 1
                    continue
                lines = outline(chunks, units, self.shape)
                connection.execute(
                    "INSERT OR REPLACE INTO outlines VALUES (?, ?, ?)",
                    (source, digest, json.dumps([asdict(line) for line in lines])),
                )
                report.outlined.append(source)
        report.seconds = time.perf_counter() - started
        return report

    def outline(self, source: str) -> list[OutlineLine]:
        """The outline of one document ([] when it has none)."""
        return self.outlines([source]).get(source, [])

    def outlines(self, sources: Iterable[str] | None = None) -> dict[str, list[OutlineLine]]:
        """Outlines by document, of `sources` (default: all), in file order."""
        if not self.path.is_file():
            return {}
        with self._connect() as connection:
            rows = connection.execute("SELECT source, lines FROM outlines ORDER BY source")
            wanted = None if sources is None else set(sources)
            return {
                source: [OutlineLine(**line) for line in json.loads(lines)]
                for source, lines in rows
                if wanted is None or source in wanted
            }


def _chunks_by_source(chunks: Iterable[Document]) -> dict[str, list[Document]]:
    by_source: dict[str, list[Document]] = defaultdict(list)
    for chunk in chunks:
        by_source[chunk.metadata["source"]].append(chunk)
    return {s: sorted(c, key=lambda d: d.metadata["start"]) for s, c in by_source.items()}


def _units(knowledge_base: KnowledgeBase) -> SentenceUnits:
    """A chunk's sentence units and vectors, as the index keeps them (embedded only where it
    kept none)."""
    limit = sentence_unit_limit(knowledge_base.identity.dimension)
    similarity = SentenceSimilarity(
        knowledge_base.embeddings, 1.0, knowledge_base.sentence_vectors_of, limit
    )
    return lambda chunk: (similarity.sentence_texts(chunk), similarity.sentence_vectors(chunk))
