"""Replicas over one Milvus-protocol server, open at the same time (issue 32, part 4): Milvus
Lite's server mode (`tests/support/milvus_server.py`) runs the engine in a process of its own,
reached by `http://127.0.0.1:PORT` as any Milvus server is. A replica that keeps running (the
way `serve.py` asks before each question, `services.live`) with its own empty index folder sees
each save of another process at its next question, and its own ingests are seen by the others:
nothing but the server is shared. The chunks are embedded by the fake embedder
(tests/support/fakes.py), except through `ingest.py` (the bundled one);
tests/test_milvus_replicas.py covers what Milvus Lite's file allows."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import PathsSettings, Settings, StoreSettings
from index.updater import ingest
from index.versions import current_version
from tests.support.fakes import fake_embedder
from tests.support.milvus_server import milvus_server
from tests.support.paths import REPO
from tests.support.processes import ingest_cli, store_config, write_config

WORDS = ["quokkaflorin", "zebrafinch", "gannetwing"]
ANSWER_S = 120
REPLICA = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import services.live
from config import PathsSettings, Settings, StoreSettings
from index.catalog import KnowledgeBaseCatalog
from index.errors import IndexStoreError
from index.updater import ingest
from tests.support.fakes import fake_embedder
services.live.build_embedder = lambda _: fake_embedder()  # the seam: no model to load
folder = Path(sys.argv[3])
paths = PathsSettings(documents=Path(sys.argv[2]), index=folder, knowledge_bases=folder / "kbs")
store = StoreSettings(backend="milvus", uri=sys.argv[4], collection=sys.argv[5])
settings = Settings(paths=paths, store=store)
live = services.live.LiveIndexes(KnowledgeBaseCatalog(settings))
for line in sys.stdin:
    command = json.loads(line)
    try:
        if command == "ingest":
            ingest(settings, fake_embedder(), show_progress=False)
            answer = {"ingested": True}
        else:
            kb = live.open().knowledge_base
            hits = {w: kb.documents_by_id(kb.keyword_search(w, 5)).values() for w in command}
            answer = {
                "version": live.open().version.name,
                "files": sorted(kb.manifest.files),
                "collection": kb.manifest.store["collection"],
                "found": {w: sorted(d.metadata["source"] for d in hits[w]) for w in command},
            }
    except IndexStoreError as err:
        answer = {"error": str(err)}
    print(json.dumps(answer), flush=True)
"""


class Replica:
    """A process that stays up, as a replica of the app or the API does, answering commands on
    its stdin with JSON lines: a list of words (the files each word's keyword search finds,
    asked as before a question), or "ingest" (its own ingest of the shared documents)."""

    def __init__(self, documents: Path, folder: Path, store: StoreSettings) -> None:
        arguments = [str(REPO), str(documents), str(folder), store.uri, store.collection]
        self.process = subprocess.Popen(
            [sys.executable, "-c", REPLICA, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: list[str] | str) -> dict:
        """Its answer; the test fails if none comes in `ANSWER_S` (it is killed then)."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        if not select.select([self.process.stdout], [], [], ANSWER_S)[0]:
            self.process.kill()
            pytest.fail(f"the replica did not answer {command!r} in {ANSWER_S} s")
        line = self.process.stdout.readline()
        assert line, self.stop()
        return json.loads(line)

    def stop(self) -> str:
        """Let it end; what it wrote on stderr."""
        assert self.process.stdin and self.process.stderr
        self.process.stdin.close()
        self.process.wait(timeout=30)
        return self.process.stderr.read()[-3000:]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """One Milvus Lite server for the module; each test has collections of its own."""
    folder = tmp_path_factory.mktemp("milvus-server")
    with milvus_server(folder / "data") as (uri, _):
        yield uri


@pytest.fixture
def writer(server, tmp_path, request) -> Settings:
    """This process's settings: the shared documents, its own index folder, the server."""
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "alpha.md").write_text("# Alpha\n\nThe quokkaflorin lives here.\n", "utf-8")
    (documents / "beta.md").write_text("# Beta\n\nThe zebrafinch sings here.\n", "utf-8")
    store = StoreSettings(backend="milvus", uri=server, collection=request.node.name[5:40])
    return Settings(paths=PathsSettings(documents=documents, index=tmp_path / "here"), store=store)


@pytest.fixture
def replica(writer, tmp_path) -> Iterator[Replica]:
    """A running replica with an index folder of its own, empty: it shares only the server."""
    running = Replica(writer.paths.documents, tmp_path / "replica", writer.store)
    yield running
    assert running.process.poll() is None, "the replica stopped during the test"
    running.stop()


def write(settings: Settings, rebuild: bool = False) -> None:
    ingest(settings, fake_embedder(), rebuild=rebuild, show_progress=False)


def test_a_running_replica_sees_each_save_of_another_process_at_its_next_question(writer, replica):
    before = replica.ask(WORDS)
    assert "no index" in before["error"] and "python ingest.py" in before["error"]

    write(writer)
    seen = replica.ask(WORDS)
    assert seen["version"] == current_version(writer.paths.index).name
    assert seen["found"] == {"quokkaflorin": ["alpha.md"], "zebrafinch": ["beta.md"], WORDS[2]: []}

    documents = writer.paths.documents
    (documents / "alpha.md").write_text("# Alpha\n\nThe gannetwing took its place.\n", "utf-8")
    (documents / "beta.md").unlink()
    write(writer)
    seen = replica.ask(WORDS)
    assert seen["files"] == ["alpha.md"]
    assert seen["found"] == {"quokkaflorin": [], "zebrafinch": [], "gannetwing": ["alpha.md"]}
    assert replica.ask(WORDS) == seen  # nothing new: the same version

    write(writer, rebuild=True)  # a new collection; the one the replica had open is dropped
    rebuilt = replica.ask(WORDS)
    assert rebuilt["collection"] != seen["collection"]
    assert rebuilt["found"] == seen["found"]


def test_each_replica_sees_the_others_ingests(writer, replica):
    """Two writers that take turns over one server and shared documents (a network folder),
    each with its own index folder: each ingest starts from the other's version."""
    write(writer)
    documents = writer.paths.documents
    (documents / "gamma.md").write_text("# Gamma\n\nThe gannetwing nests here.\n", "utf-8")
    assert replica.ask("ingest") == {"ingested": True}
    assert current_version(writer.paths.index, writer.store).name == replica.ask(WORDS)["version"]

    (documents / "beta.md").unlink()
    write(writer)  # from the replica's version: only beta's removal is saved
    seen = replica.ask(WORDS)
    assert seen["files"] == ["alpha.md", "gamma.md"]
    assert seen["found"] == {
        "quokkaflorin": ["alpha.md"],
        "zebrafinch": [],
        "gannetwing": ["gamma.md"],
    }


def test_ingest_py_reaches_the_server_by_the_uri_in_its_config(server, tmp_path):
    """The command line with the bundled embedder: `store.uri = "http://…"` in a config file is
    kept as written (a `.db` path would be made relative to the file), and `ingest.py` of
    another machine, its index folder empty, starts from the version the first one saved."""
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / "alpha.md").write_text("# Alpha\n\nThe quokkaflorin lives here.\n", "utf-8")
    configs = []
    for machine in ("one", "two"):
        (tmp_path / machine).mkdir()
        config = write_config(tmp_path / machine, documents)
        store = StoreSettings(backend="milvus", uri=server)
        with config.open("a", encoding="utf-8") as file:
            file.write(store_config(store) + 'collection = "from_the_cli"\n')
        configs.append(config)
    ingest_cli(configs[0])
    dry_run, check = (
        subprocess.run(
            [sys.executable, str(REPO / "ingest.py"), "--config", str(configs[1]), option],
            capture_output=True,
            text=True,
            timeout=300,
        )
        for option in ("--dry-run", "--check")
    )
    assert dry_run.returncode == 0, dry_run.stderr[-3000:]
    assert "0 added, 0 updated, 0 removed, 1 unchanged" in dry_run.stdout
    assert check.returncode == 0, check.stderr[-3000:]  # the live version, not "None"
    assert re.search(r"Index: \S+/v-\S+ \(1 file, 1 chunk\): healthy", check.stdout), check.stdout
