"""What the services of one process share about the knowledge bases: one embedder per embedding
setting (used by one thread at a time) and each knowledge base's live index version, loaded
once and reopened when an ingest has switched to a new version. Answer services are built per
live version (`LiveIndex.services`), so they are let go with it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog, kb_commands
from index.embeddings import Embedder, build_embedder, serialized
from index.errors import IndexStoreError
from index.knowledge_base import KnowledgeBase
from index.versions import current_version, load_index
from services.answering import RagService


@dataclass
class LiveIndex:
    """A knowledge base's index version as loaded, and the answer services built over it."""

    version: Path
    knowledge_base: KnowledgeBase
    services: dict[tuple[str, bool], RagService] = field(default_factory=dict)
    """By (profile, with_model)."""


class LiveIndexes:
    """The embedders and live index versions of every knowledge base of one catalogue."""

    def __init__(self, catalog: KnowledgeBaseCatalog) -> None:
        self.catalog = catalog
        self.lock = threading.RLock()
        """Held while the cache changes, and by a rename or deletion of a knowledge base."""
        self._embedders: dict[str, Embedder] = {}
        self._live: dict[str, LiveIndex] = {}

    def embedder_for(self, kb: str = DEFAULT_KB) -> Embedder:
        """The embedder of knowledge base `kb`, used by one thread at a time; knowledge bases
        with the same embedding settings share one."""
        embedding = self.catalog.settings_for(kb).embedding
        key = embedding.model_dump_json()
        with self.lock:
            if key not in self._embedders:
                self._embedders[key] = serialized(build_embedder(embedding))
            return self._embedders[key]

    def open(self, kb: str = DEFAULT_KB) -> LiveIndex:
        """The live index version of `kb` (reopened after an ingest), or IndexStoreError (its
        commands name `--kb` for a named knowledge base)."""
        settings = self.catalog.settings_for(kb)
        folder = settings.paths.index
        with commands_for(kb):
            version = current_version(folder, settings.store)
            with self.lock:
                live = self._live.get(kb)
                if live is None or live.version != version:
                    loaded = load_index(folder, self.embedder_for(kb), settings.store)
                    live = self._live[kb] = LiveIndex(version, loaded)
                return live

    def release(self, kb: str) -> None:
        """Let go of `kb`'s index and services (it was renamed or deleted)."""
        with self.lock:
            self._live.pop(kb, None)


@contextmanager
def commands_for(kb: str) -> Iterator[None]:
    """Index errors raised inside name their `python ingest.py` commands with `--kb` for a named
    knowledge base (the index layer names commands without knowing which one it serves)."""
    try:
        yield
    except IndexStoreError as err:
        if kb == DEFAULT_KB:
            raise
        raise type(err)(kb_commands(str(err), kb), code=err.code) from None
