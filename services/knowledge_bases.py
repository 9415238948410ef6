"""Knowledge-base administration as every face offers it: list them with their statistics,
show what one holds, create, rename (its stored conversations follow it) and delete one, and
the `Settings` of each (`index.catalog` keeps them on disk)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from config import ChunkingSettings, Settings
from history.store import HistoryError
from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog, KnowledgeBaseError, KnowledgeBaseStats
from index.embeddings import EmbedderIdentity
from index.filters import Facets, facets
from index.knowledge_base import KnowledgeBase
from index.manifest import read_manifest
from index.versions import current_version, index_size
from llms.queue import ModelQueue
from services.conversations import ConversationService
from services.live import LiveIndexes, commands_for

__all__ = [
    "DEFAULT_KB",
    "IndexContents",
    "IndexedFile",
    "KnowledgeBaseService",
    "KnowledgeBaseStats",
]


@dataclass(frozen=True)
class IndexedFile:
    source: str
    """Its name in the index: relative to the first documents folder."""
    chunks: int
    size: int
    indexed_at: float


@dataclass(frozen=True)
class IndexContents:
    """What a knowledge base's live index holds, as its manifest records it."""

    version: str
    files: dict[str, IndexedFile]
    """By source, in order."""
    store: dict
    """The store's own description (backend, collection, ...)."""
    updated_at: float
    """Time of the last ingest."""
    size_bytes: int
    """What the index folder takes on disk."""

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.files.values())


class KnowledgeBaseService:
    """The knowledge bases of one configuration. Renaming and deleting wait for the ingests in
    the local model's line, and let go of what the process holds of the knowledge base."""

    def __init__(
        self,
        catalog: KnowledgeBaseCatalog,
        live: LiveIndexes,
        queue: ModelQueue,
        conversations: ConversationService,
    ) -> None:
        self.catalog = catalog
        self.live = live
        self.queue = queue
        self.conversations = conversations

    def names(self) -> list[str]:
        """`default` first, then the named ones in alphabetical order."""
        return self.catalog.names()

    def settings_for(self, name: str = DEFAULT_KB) -> Settings:
        """The settings of knowledge base `name` (its paths, chunking and embedder), or
        KnowledgeBaseError naming the ones there are."""
        return self.catalog.settings_for(name)

    def overview(self) -> list[KnowledgeBaseStats]:
        """Every knowledge base with its statistics."""
        return [self.catalog.stats(name) for name in self.catalog.names()]

    def stats(self, name: str) -> KnowledgeBaseStats:
        """Files, chunks, size, last ingest and embedder; `problem` says why the index cannot
        be read, if it cannot."""
        return self.catalog.stats(name)

    def contents(self, name: str = DEFAULT_KB) -> IndexContents | None:
        """The indexed files of `name` (None without an index), or IndexStoreError naming the
        file that cannot be read."""
        with commands_for(name):
            version = current_version(self.settings_for(name).paths.index)
            if version is None:
                return None
            manifest = read_manifest(version)
        files = {
            source: IndexedFile(source, len(record.chunk_ids), record.size, record.indexed_at)
            for source, record in sorted(manifest.files.items())
        }
        return IndexContents(
            version.name,
            files,
            dict(manifest.store),
            manifest.updated_at,
            index_size(version.parent),
        )

    def open(self, name: str = DEFAULT_KB) -> KnowledgeBase:
        """The live index of `name`, opened as answering opens it (so damage shows wherever it
        is looked at), or IndexStoreError (IndexNotFoundError before the first ingest)."""
        return self.live.open(name).knowledge_base

    def embedder(self, name: str = DEFAULT_KB) -> EmbedderIdentity:
        """What embeds `name`'s chunks and questions."""
        return self.live.embedder_for(name).identity

    def facets(self, name: str = DEFAULT_KB) -> Facets:
        """The filter choices `name`'s chunks offer (folders, types, languages, tags, dates)."""
        return facets(d.metadata for d in self.open(name).documents())

    def create(
        self,
        name: str,
        folders: list[Path] | None = None,
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        embedding_backend: str | None = None,
        embedding_model: str | None = None,
    ) -> Settings:
        """A new, empty knowledge base; its documents are `folders` (kept where they are) or
        its own folder. Chunking and embedder are the config's, with these changes."""
        settings = self.catalog.settings
        chunking = settings.chunking.model_dump()
        for key, value in (("size", chunk_size), ("overlap", chunk_overlap)):
            if value is not None:
                chunking[key] = value
        try:
            chosen = ChunkingSettings.model_validate(chunking)
        except ValidationError as err:
            problems = "; ".join(
                ".".join(["chunking", *map(str, problem["loc"])]) + f": {problem['msg']}"
                for problem in err.errors()
            )
            raise KnowledgeBaseError(f"{name!r}: {problems}") from None
        changes = {"backend": embedding_backend, "model": embedding_model}
        embedding = settings.embedding.model_copy(
            update={key: value for key, value in changes.items() if value is not None}
        )
        return self.catalog.create(name, folders, chosen, embedding)

    def rename(self, old: str, new: str) -> None:
        """Rename a knowledge base, waiting for the ingests in line; the stored conversations
        about it follow it."""
        with self.queue.seat(), self.live.lock:
            self.catalog.rename(old, new)
            self.live.release(old)
        # A damaged history file is reported where history is shown; the rename is done.
        with contextlib.suppress(HistoryError):
            self.conversations.rename_kb(old, new)

    def delete(self, name: str) -> None:
        """Delete a knowledge base with its index and own documents folder, waiting for the
        ingests in line."""
        with self.queue.seat(), self.live.lock:
            self.catalog.delete(name)
            self.live.release(name)
