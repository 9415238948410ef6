"""The manifest on disk (`index.manifest`): format 5 keeps the file list in files.json, read at
its first use (opening an index for questions never reads it), each file's chunk ids one joined
string split only when asked; formats 3 and 4 (the list inside manifest.json) still read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from index.errors import IndexCorruptError
from index.manifest import (
    FILES_FILE,
    MANIFEST_FILE,
    FileRecord,
    Manifest,
    open_manifest,
    read_manifest,
    write_manifest,
)
from tests.support.fakes import fake_embedder

IDS = ["9de9297e2a54ab5a75ff7f71", "4d7a7d611bcb5d9c2bd23b6a", "12cb1802c2620b5d01a3e405"]


def _written(tmp_path: Path, manifest: Manifest) -> dict:
    """What was written: manifest.json's entries, the file list under "files" (as formats 3 and
    4 kept it)."""
    write_manifest(tmp_path, manifest, fake_embedder().identity)
    header = json.loads((tmp_path / MANIFEST_FILE).read_text(encoding="utf-8"))
    return header | {"files": json.loads((tmp_path / FILES_FILE).read_text(encoding="utf-8"))}


def _as_format(tmp_path: Path, on_disk: dict, format: int) -> None:
    """manifest.json rewritten in an older format, the file list inside it."""
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({**on_disk, "format": format}))
    (tmp_path / FILES_FILE).unlink()


def test_chunk_ids_are_joined_on_disk_and_split_only_when_asked(tmp_path):
    manifest = Manifest(chunking={"size": 500}, files={"a.md": FileRecord("h", 9, IDS, 1.5)})
    on_disk = _written(tmp_path, manifest)
    assert on_disk["format"] == 5
    assert on_disk["files"]["a.md"]["chunk_ids"] == " ".join(IDS)

    record = read_manifest(tmp_path).files["a.md"]
    assert record._ids is None and record.chunk_count == 3  # counted without splitting
    assert record.chunk_ids == IDS and record == FileRecord("h", 9, IDS, 1.5)
    record.chunk_ids.append("ffff")  # the list is the record's: changes are kept
    assert record.chunk_count == 4 and record.to_dict()["chunk_ids"].endswith(" ffff")


def test_a_file_without_chunks_reads_as_none(tmp_path):
    _written(tmp_path, Manifest(chunking={}, files={"empty.md": FileRecord("h", 0, [], 0.0)}))
    record = read_manifest(tmp_path).files["empty.md"]
    assert record.chunk_count == 0 and record.chunk_ids == []


@pytest.mark.parametrize("format", [3, 4])
def test_an_older_manifest_reads(tmp_path, format):
    on_disk = _written(tmp_path, Manifest(chunking={}, files={"a.md": FileRecord("h", 9, IDS, 1)}))
    if format == 3:
        on_disk["files"]["a.md"]["chunk_ids"] = IDS  # format 3 listed them
    _as_format(tmp_path, on_disk, format)
    assert open_manifest(tmp_path).chunk_ids() == set(IDS)


def test_opening_reads_the_file_list_only_when_asked(tmp_path):
    _written(tmp_path, Manifest(chunking={"size": 9}, files={"a.md": FileRecord("h", 9, IDS, 1)}))
    (tmp_path / FILES_FILE).write_text("not JSON", encoding="utf-8")
    opened = open_manifest(tmp_path)  # what answering opens: the damage does not show yet
    assert opened.chunking == {"size": 9}
    with pytest.raises(IndexCorruptError, match=f"{FILES_FILE}.*not JSON"):
        len(opened.files)
    with pytest.raises(IndexCorruptError, match="not JSON"):
        read_manifest(tmp_path)  # what the check and the tools read: every part, now


def test_an_opened_version_keeps_its_file_list_when_a_writer_removes_it(tmp_path):
    version = tmp_path / "v-1"
    version.mkdir()
    _written(version, Manifest(chunking={}, files={"a.md": FileRecord("h", 9, IDS, 1)}))
    opened = open_manifest(version)
    shutil.rmtree(version)  # a writer keeps only the live version
    assert opened.files["a.md"].chunk_ids == IDS


def test_a_missing_file_list_is_damage_at_open(tmp_path):
    _written(tmp_path, Manifest(chunking={}, files={}))
    (tmp_path / FILES_FILE).unlink()
    with pytest.raises(IndexCorruptError, match=f"{FILES_FILE}.*missing"):
        open_manifest(tmp_path)


def test_a_chunk_id_with_a_space_is_refused_at_save(tmp_path):
    manifest = Manifest(chunking={}, files={"a.md": FileRecord("h", 9, ["one two"], 1.0)})
    with pytest.raises(ValueError, match="holds a space"):
        write_manifest(tmp_path, manifest, fake_embedder().identity)
