"""Every document's outline (`chains.outline`), kept in a small SQLite file beside the knowledge
base's index (`<index>-outlines.sqlite3`: inside a named knowledge base's folder), keyed by
file and by the content hash the index's manifest keeps for it (with the outline's shape: a
new way of outlining makes every outline again).

`OutlineStore.sync` runs after each ingest: from the manifest alone it finds the files whose
content changed (or that have no outline yet) and those no longer indexed; it reads the chunks
of the changed files only, and of a long file at most `OutlineShape.windows` windows spread
evenly through it, so its cost follows what changed and its memory is bounded at any size.
Summaries and overviews read the outlines (`services.answering`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from chains.outline import (
    DEFAULT_SHAPE,
    OutlineLine,
    OutlineShape,
    SentenceUnits,
    outline,
)
from chains.rerank import SentenceSimilarity
from index.knowledge_base import KnowledgeBase
from index.manifest import FileRecord
from index.records import sentence_unit_limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outlines (
    source TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    lines TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS heading_vectors (
    source TEXT PRIMARY KEY,
    vectors BLOB NOT NULL
)
"""
_VECTOR = np.float16
"""Heading vectors are kept at half precision: only compared with a question's."""


def outline_path(index: Path) -> Path:
    """Where the outlines of the index at `index` are kept."""
    return index.with_name(f"{index.name}-outlines.sqlite3")


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
        self._shape_key = hashlib.sha256(repr(shape).encode()).hexdigest()[:12]

    def _digest(self, record: FileRecord) -> str:
        """What a stored outline is keyed by: the file's content and the outline's shape."""
        return f"{record.hash}:{self._shape_key}"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path)
        connection.executescript(_SCHEMA)
        return connection

    def up_to_date(self, files: dict[str, FileRecord]) -> bool:
        """Whether every file of a manifest has its outline and no other file has one: then
        the index need not be opened at all."""
        if not self.path.is_file():
            return not files
        with self._connect() as connection:
            stored = dict(connection.execute("SELECT source, digest FROM outlines"))
        return stored == {source: self._digest(record) for source, record in files.items()}

    def sync(self, knowledge_base: KnowledgeBase) -> OutlineSync:
        """Outline the documents whose content changed (by the manifest's hashes: no chunk of
        the others is read); forget the ones removed."""
        started = time.perf_counter()
        report = OutlineSync()
        files = knowledge_base.manifest.files
        units = _units(knowledge_base)
        with self._connect() as connection:
            stored = dict(connection.execute("SELECT source, digest FROM outlines"))
            for source in sorted(set(stored) - set(files)):
                connection.execute("DELETE FROM outlines WHERE source = ?", (source,))
                connection.execute("DELETE FROM heading_vectors WHERE source = ?", (source,))
                report.removed.append(source)
            for source, record in sorted(files.items()):
                digest = self._digest(record)
                if stored.get(source) == digest:
                    report.unchanged += 1
                    continue
                chunks = _windows(knowledge_base, record.chunk_ids, self.shape.windows)
                made = outline(chunks, units, self.shape)
                connection.execute(
                    "INSERT OR REPLACE INTO outlines VALUES (?, ?, ?)",
                    (source, digest, json.dumps([asdict(line) for line in made.lines])),
                )
                connection.execute(
                    "INSERT OR REPLACE INTO heading_vectors VALUES (?, ?)",
                    (source, made.heading_vectors.astype(_VECTOR).tobytes()),
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

    def closest_headings(self, vector: np.ndarray, sources: Iterable[str]) -> dict[str, float]:
        """Each of `sources`' closest heading to a question's unit `vector` (cosine), for those
        with headings: which document a question describing one is about."""
        wanted = list(dict.fromkeys(sources))
        if not wanted or not self.path.is_file():
            return {}
        marks = ",".join("?" * len(wanted))
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT source, vectors FROM heading_vectors WHERE source IN ({marks})", wanted
            ).fetchall()
        closest = {}
        for source, blob in rows:
            vectors = np.frombuffer(blob, dtype=_VECTOR)
            if len(vectors) and len(vectors) % len(vector) == 0:  # else another embedder's
                rows_of = vectors.reshape(-1, len(vector)).astype(np.float32)
                closest[source] = float((rows_of @ vector).max())
        return closest


def _windows(knowledge_base: KnowledgeBase, ids: Sequence[str], most: int) -> list[Document]:
    """A file's chunks (`ids`, in document order), or `most` of them spread evenly through it
    (the first and the last among them), in document order."""
    if len(ids) > most:
        step = (len(ids) - 1) / (most - 1)
        ids = [ids[round(n * step)] for n in range(most)]
    found = knowledge_base.documents_by_id(ids)
    return [found[i] for i in ids if i in found]


def _units(knowledge_base: KnowledgeBase) -> SentenceUnits:
    """A chunk's sentence units and vectors, as the index keeps them (embedded only where it
    kept none)."""
    limit = sentence_unit_limit(knowledge_base.identity.dimension)
    similarity = SentenceSimilarity(
        knowledge_base.embeddings, 1.0, knowledge_base.sentence_vectors_of, limit
    )
    return lambda chunk: (similarity.sentence_texts(chunk), similarity.sentence_vectors(chunk))
