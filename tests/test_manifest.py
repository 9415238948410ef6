"""The manifest on disk (`index.manifest`): format 4 keeps each file's chunk ids as one joined
string, read into a list only when asked (a Milvus replica or `kb.py list` opens it without
making a string per chunk); format 3's lists still read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.manifest import MANIFEST_FILE, FileRecord, Manifest, read_manifest, write_manifest
from tests.support.fakes import fake_embedder

IDS = ["9de9297e2a54ab5a75ff7f71", "4d7a7d611bcb5d9c2bd23b6a", "12cb1802c2620b5d01a3e405"]


def _written(tmp_path: Path, manifest: Manifest) -> dict:
    write_manifest(tmp_path, manifest, fake_embedder().identity)
    return json.loads((tmp_path / MANIFEST_FILE).read_text(encoding="utf-8"))


def test_chunk_ids_are_joined_on_disk_and_split_only_when_asked(tmp_path):
    manifest = Manifest(chunking={"size": 500}, files={"a.md": FileRecord("h", 9, IDS, 1.5)})
    on_disk = _written(tmp_path, manifest)
    assert on_disk["format"] == 4
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


def test_a_format_3_manifest_reads(tmp_path):
    on_disk = _written(tmp_path, Manifest(chunking={}, files={"a.md": FileRecord("h", 9, IDS, 1)}))
    on_disk["format"] = 3
    on_disk["files"]["a.md"]["chunk_ids"] = IDS  # format 3 listed them
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(on_disk), encoding="utf-8")
    assert read_manifest(tmp_path).chunk_ids() == set(IDS)


def test_a_chunk_id_with_a_space_is_refused_at_save(tmp_path):
    manifest = Manifest(chunking={}, files={"a.md": FileRecord("h", 9, ["one two"], 1.0)})
    with pytest.raises(ValueError, match="holds a space"):
        write_manifest(tmp_path, manifest, fake_embedder().identity)
