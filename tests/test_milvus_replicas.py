"""Replicas share nothing but the Milvus store (issue 32): the live version of the index is kept
in the store (`index.stores.milvus.versions`), so a process configured with the store's URI and
collection alone, its index folder empty, opens what another process saved: its ingests,
updates, removals and rebuilds; and a process killed between its rows and its version leaves
the previous version live.

Milvus Lite opens a file in one process at a time, so the processes here take turns (each lets
go before the next starts); two live at once need a Milvus server (docs/guides/replicas.md).
The chunks are embedded by the fake embedder (tests/support/fakes.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import PathsSettings, Settings, StoreSettings
from index.stores.milvus.client import release
from index.updater import ingest
from index.versions import current_version, load_index
from tests.support.fakes import fake_embedder
from tests.support.paths import REPO

NOTES = {
    "alpha.md": "# Alpha\n\nThe quokkaflorin lives in the alpha note.\n",
    "beta.md": "# Beta\n\nThe zebrafinch sings in the beta note.\n",
}
READER = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from config import StoreSettings
from index.versions import load_index
from tests.support.fakes import fake_embedder
store = StoreSettings(backend="milvus", uri=sys.argv[3], collection=sys.argv[4])
kb = load_index(Path(sys.argv[2]), fake_embedder(), store)
hits = {w: kb.documents_by_id(kb.keyword_search(w, 5)).values() for w in sys.argv[5:]}
found = {w: sorted(d.metadata["source"] for d in documents) for w, documents in hits.items()}
print(json.dumps({"files": sorted(kb.manifest.files), "chunks": kb.vector_count,
                  "collection": kb.manifest.store["collection"], "found": found}))
"""
KILLED_BEFORE_ITS_VERSION = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from config import PathsSettings, Settings, StoreSettings
from index.stores.milvus.versions import MilvusVersions
from index.updater import ingest
from tests.support.fakes import fake_embedder
MilvusVersions.write = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
store = StoreSettings(backend="milvus", uri=sys.argv[3], collection=sys.argv[4])
paths = PathsSettings(documents=Path(sys.argv[5]), index=Path(sys.argv[2]))
ingest(Settings(paths=paths, store=store), fake_embedder(), show_progress=False)
"""


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[Settings, Path]]:
    """The writer's settings (its documents and index folder) and the store they name."""
    documents = tmp_path / "documents"
    documents.mkdir()
    for name, text in NOTES.items():
        (documents / name).write_text(text, "utf-8")
    store = StoreSettings(backend="milvus", uri=str(tmp_path / "shared.db"), collection="replicas")
    yield Settings(paths=PathsSettings(documents=documents, index=tmp_path / "writer"), store=store)
    release(store)


def write(settings: Settings, rebuild: bool = False) -> None:
    ingest(settings, fake_embedder(), rebuild=rebuild, show_progress=False, on_message=print)
    release(settings.store)


def run(script: str, settings: Settings, folder: Path, *extra: str) -> subprocess.CompletedProcess:
    store = settings.store
    arguments = [str(REPO), str(folder), store.uri, store.collection, *extra]
    return subprocess.run(
        [sys.executable, "-c", script, *arguments], capture_output=True, text=True, timeout=180
    )


def read(settings: Settings, folder: Path) -> dict:
    """What a new process with `folder` as its index folder finds in the store."""
    result = run(READER, settings, folder, "quokkaflorin", "zebrafinch", "gannetwing")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_a_process_with_an_empty_index_folder_opens_what_another_saved(replicas, tmp_path):
    settings, documents = replicas, replicas.paths.documents
    write(settings)
    reader = tmp_path / "reader"  # not created: nothing local at all
    seen = read(settings, reader)
    assert seen["files"] == ["alpha.md", "beta.md"]
    assert seen["found"] == {
        "quokkaflorin": ["alpha.md"],
        "zebrafinch": ["beta.md"],
        "gannetwing": [],
    }

    (documents / "alpha.md").write_text("# Alpha\n\nThe gannetwing replaced it.\n", "utf-8")
    (documents / "beta.md").unlink()
    write(settings)
    seen = read(settings, reader)  # its copy of the first version is replaced
    assert seen["files"] == ["alpha.md"]
    assert seen["found"] == {"quokkaflorin": [], "zebrafinch": [], "gannetwing": ["alpha.md"]}

    before = seen["collection"]
    write(settings, rebuild=True)  # a new collection; the old one is dropped
    seen = read(settings, reader)
    assert seen["collection"] != before
    assert seen["found"]["gannetwing"] == ["alpha.md"]


def test_a_process_killed_between_its_rows_and_its_version_leaves_the_previous_one(
    replicas, tmp_path
):
    settings, documents = replicas, replicas.paths.documents
    write(settings)
    (documents / "gamma.md").write_text("# Gamma\n\nThe gannetwing is new here.\n", "utf-8")
    (documents / "beta.md").unlink()
    killed = run(KILLED_BEFORE_ITS_VERSION, settings, tmp_path / "killed", str(documents))
    assert killed.returncode == -9, killed.stderr[-3000:]

    seen = read(settings, tmp_path / "reader")
    assert seen["files"] == ["alpha.md"]  # beta's rows are gone: it is indexed again next time
    assert seen["found"] == {"quokkaflorin": ["alpha.md"], "zebrafinch": [], "gannetwing": []}
    assert seen["chunks"] == 1

    elsewhere = settings.model_copy(
        update={"paths": settings.paths.model_copy(update={"index": tmp_path / "another-writer"})}
    )
    write(elsewhere)  # the next ingest, from another machine's empty folder, repairs it
    seen = read(settings, tmp_path / "reader")
    assert seen["files"] == ["alpha.md", "gamma.md"]
    assert seen["found"]["gannetwing"] == ["gamma.md"]


def test_a_running_reader_finds_each_new_version_when_it_asks(replicas, tmp_path):
    """What a running replica asks before each question (`current_version` with the store's
    settings): here one process with two index folders stands for two machines, as Milvus
    Lite allows one process only."""
    settings = replicas
    write(settings)
    reader = tmp_path / "reader"
    first = current_version(reader, settings.store)
    assert first is not None and first.name == current_version(settings.paths.index).name
    assert current_version(reader, settings.store) == first  # nothing new: nothing copied
    (settings.paths.documents / "beta.md").unlink()
    write(settings)
    second = current_version(reader, settings.store)
    assert second != first and not first.exists()
    assert list(load_index(reader, fake_embedder(), settings.store).manifest.files) == ["alpha.md"]
