"""Milvus as a scale-out store (issue 32), on Milvus Lite, the real engine: keyword search on the
server ranks as the in-process BM25 does on every committed QA set, before and after an update;
opening reads no chunk; another process sees what one saved.

The chunks are embedded by the fake embedder (tests/support/fakes.py): BM25 alone is compared,
and the dense vectors only have to be there. One FAISS and one Milvus index per module."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymilvus import MilvusClient

from chains.retrieval import build_retriever
from config import PathsSettings, RetrievalSettings, Settings, StoreSettings
from index.filters import ChunkFilter, facets
from index.knowledge_base import KnowledgeBase
from index.manifest import FILES_FILE, FileList, read_manifest
from index.stores.milvus.client import connect, release
from index.stores.milvus.expressions import filter_expression
from index.stores.milvus.keywords import (
    WRITING,
    read_all_statistics,
    write_marker,
    write_statistics,
)
from index.updater import ingest
from index.versions import current_version, load_index
from tests.support.fakes import fake_embedder
from tests.support.paths import REPO, SAMPLE_DIR

SEEDS = REPO.parent / "shared" / "corpus" / "seeds"
QA = REPO / "tests" / "data"
K = 10


def build(documents: Path, folder: Path, store: StoreSettings) -> Settings:
    settings = Settings(paths=PathsSettings(documents=documents, index=folder), store=store)
    ingest(settings, fake_embedder(), show_progress=False, on_message=lambda _: None)
    return settings


def questions(*names: str) -> list[str]:
    lines = [line for name in names for line in (QA / name).read_text("utf-8").splitlines()]
    return [json.loads(line)["question"] for line in lines if line.strip()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed notes and the sample notes in one writable folder, so every QA set asks it."""
    if not SEEDS.is_dir():
        pytest.skip(f"../shared/corpus/seeds not found at {SEEDS}: the seed notes are not here")
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SEEDS, folder / "seeds")
    shutil.copytree(SAMPLE_DIR, folder / "sample")
    return folder


@pytest.fixture(scope="module")
def both(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("stores")
    milvus = StoreSettings(backend="milvus", uri=str(root / "milvus.db"))
    settings = {
        "faiss": build(corpus, root / "faiss", StoreSettings()),
        "milvus": build(corpus, root / "milvus", milvus),
    }
    yield settings
    release(milvus)


def opened(settings: Settings) -> KnowledgeBase:
    return load_index(settings.paths.index, fake_embedder(), settings.store)


ALL_QUESTIONS = questions("seeds_qa_zh.jsonl", "seeds_qa_en.jsonl", "sample_qa.jsonl")


def rankings(knowledge_base: KnowledgeBase) -> list[list[str]]:
    return [knowledge_base.keyword_search(q, K) for q in ALL_QUESTIONS]


def test_keyword_search_on_milvus_ranks_as_the_in_process_bm25(both, monkeypatch):
    faiss, milvus = opened(both["faiss"]), opened(both["milvus"])
    expected = rankings(faiss)
    assert sum(map(len, expected)) > K * len(ALL_QUESTIONS) // 2  # the questions find chunks
    assert rankings(milvus) == expected
    english = ChunkFilter(languages=frozenset({"en"}))
    filtered = milvus.matching(english)  # a filter expression on the server
    assert filtered == faiss.matching(english) and filtered
    spy = Spy(monkeypatch)
    assert [milvus.keyword_search(q, K, filtered) for q in ALL_QUESTIONS] == [
        faiss.keyword_search(q, K, filtered) for q in ALL_QUESTIONS
    ]
    assert spy.filters and set(spy.filters) == {filter_expression(english)}  # not its ids
    assert milvus.language_shares == pytest.approx(faiss.language_shares)


def test_the_statistics_stay_exact_when_files_are_removed_and_added(both, corpus):
    """Removing a file changes every term's idf and the average length: the rows written
    before keep their weights, and the scores are still the in-process ones."""
    moved = corpus / "sample" / "attention.md"
    if not moved.exists():
        moved = next(p for p in (corpus / "sample").iterdir() if p.is_file())
    aside = corpus.parent / f"aside-{moved.name}"
    shutil.move(moved, aside)
    try:
        for name in ("faiss", "milvus"):
            release(both[name].store)
            report = ingest(both[name], fake_embedder(), show_progress=False, on_message=print)
            assert report.count("removed") == 1
        release(both["milvus"].store)
        assert rankings(opened(both["milvus"])) == rankings(opened(both["faiss"]))
    finally:
        shutil.move(aside, moved)


class Spy:
    """Every call of the real client's reading methods on the chunks' collection (not its
    statistics or the live version), with the fields it asked for and the rows it named, and
    the filter each search sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, list[str], int]] = []
        self.filters: list[str] = []
        self.statistics_calls = 0
        for method in ("get", "query", "query_iterator", "search"):
            monkeypatch.setattr(MilvusClient, method, self._wrap(getattr(MilvusClient, method)))

    def _wrap(self, real):
        def spied(client, collection, *args, **kwargs):
            result = real(client, collection, *args, **kwargs)
            if collection.endswith("__terms"):
                self.statistics_calls += 1
                return result
            if collection.endswith("__manifest"):  # the live version (a few rows)
                return result
            rows = len(kwargs.get("ids", [])) if real.__name__ == "get" else 0
            self.calls.append((real.__name__, list(kwargs.get("output_fields") or []), rows))
            if real.__name__ == "search":
                self.filters.append(kwargs.get("filter", ""))
            return result

        return spied

    def chunk_fields_read(self) -> list[tuple[str, list[str], int]]:
        chunk_fields = {"text", "terms", "sentences", "metadata", "vector", "*"}
        return [call for call in self.calls if chunk_fields & set(call[1])]


def test_opening_reads_no_chunk_until_a_question_asks(both, monkeypatch):
    release(both["milvus"].store)
    spy = Spy(monkeypatch)
    knowledge_base = opened(both["milvus"])
    assert knowledge_base.language_shares  # the statistics, not the rows
    assert spy.statistics_calls and not spy.chunk_fields_read()
    assert all(name != "query_iterator" for name, _, _ in spy.calls)
    found = knowledge_base.keyword_search("多头注意力", K)
    read = {field for _, fields, _ in spy.chunk_fields_read() for field in fields}
    assert read == {"id", "terms"}  # the candidates are scored from their term counts alone
    passages = knowledge_base.documents_by_id(found[:4])
    assert len(passages) == len(found[:4]) > 0
    fetched = sum(rows for _, fields, rows in spy.chunk_fields_read())
    assert 0 < fetched <= 3 * K + 4  # the candidates, not the collection


def test_opening_reads_no_file_list_until_a_question_asks(both, monkeypatch):
    """The file list (every chunk id) is read at the first question, for the documents' names
    (`chains.naming`), not at open: a replica opens in the same time whatever the corpus."""
    read, reads = FileList.read, []
    monkeypatch.setattr(FileList, "read", lambda self: reads.append(self.path) or read(self))
    knowledge_base = opened(both["milvus"])
    assert not reads and knowledge_base.vector_count > 0
    retriever = build_retriever(knowledge_base, RetrievalSettings(translate_query="off"))
    assert retriever.invoke("What is multi-head attention?")
    assert [path.name for path in reads] == [FILES_FILE]


def test_another_process_sees_what_one_saved(both, corpus):
    """Milvus Lite lets one process at a time open its file: the writer lets go, and a new
    process opens the collection and finds the chunks just added. (Two processes at once over
    one collection need a Milvus server: each reads the statistics and rows at every
    question, so nothing else has to be shared but the index folder's manifest.)"""
    note = corpus / "sample" / "zz-replica.md"
    note.write_text("# Replica\n\nQuokkaflorin is the codeword only the new note has.\n", "utf-8")
    settings = both["milvus"]
    try:
        release(settings.store)
        ingest(settings, fake_embedder(), show_progress=False, on_message=lambda _: None)
        release(settings.store)
        script = (
            "import sys, json; sys.path.insert(0, sys.argv[1])\n"
            "from config import StoreSettings\n"
            "from index.versions import current_version, load_index\n"
            "from tests.support.fakes import fake_embedder\n"
            "store = StoreSettings(backend='milvus', uri=sys.argv[3])\n"
            "kb = load_index(__import__('pathlib').Path(sys.argv[2]), fake_embedder(), store)\n"
            "found = kb.documents_by_id(kb.keyword_search('quokkaflorin', 3))\n"
            "print(json.dumps([d.metadata['source'] for d in found.values()]))\n"
        )
        arguments = [str(REPO), str(settings.paths.index), settings.store.uri]
        result = subprocess.run(
            [sys.executable, "-c", script, *arguments],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.splitlines()[-1]) == ["sample/zz-replica.md"]
    finally:
        note.unlink()


def test_statistics_a_crash_left_wrong_are_counted_again_by_the_next_save(both, corpus):
    """A save that began and never finished (its mark written, the statistics half updated):
    the next open sees the marks disagree, and the next save counts the statistics again."""
    for name in ("faiss", "milvus"):  # both indexes in step with the documents folder
        release(both[name].store)
        ingest(both[name], fake_embedder(), show_progress=False, on_message=lambda _: None)
    settings = both["milvus"]
    collection = read_manifest(current_version(settings.paths.index)).store["collection"]
    client = connect(settings.store)
    wrong = read_all_statistics(client, collection)
    term = max(wrong.frequencies, key=wrong.frequencies.__getitem__)
    wrong.frequencies[term] = 1
    write_statistics(client, collection, wrong, [term])
    write_marker(client, collection, WRITING, 10**6)
    release(settings.store)
    assert opened(settings).store.recount
    edited = next((corpus / "sample").glob("*.md"))
    original = edited.read_text("utf-8")
    edited.write_text(original + "\n\nOne more line.\n", "utf-8")
    try:
        for name in ("faiss", "milvus"):
            release(both[name].store)
            report = ingest(both[name], fake_embedder(), show_progress=False, on_message=print)
            assert report.count("updated") == 1
        release(settings.store)
        assert not opened(settings).store.recount
        assert rankings(opened(settings)) == rankings(opened(both["faiss"]))
    finally:
        edited.write_text(original, "utf-8")


def test_the_filter_choices_read_the_metadata_alone(both):
    faiss, milvus = opened(both["faiss"]), opened(both["milvus"])
    assert facets(milvus.metadatas()) == facets(d.metadata for d in faiss.documents())
