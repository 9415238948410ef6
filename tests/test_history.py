"""The conversation store: a real SQLite file, threads, and a process killed mid-write."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from history.store import (
    SCHEMA_VERSION,
    TITLE_CHARS,
    HistoryError,
    HistoryStore,
    Turn,
    UnknownConversation,
)
from index.manifest import FileRecord, Manifest
from services.conversations import CHANGED, GONE, source_note, with_notes
from tests.support.paths import REPO


def turn(question: str, answer: str = "an answer [1]", sources: int = 1) -> Turn:
    cards = [
        {"n": n, "id": f"chunk-{n}", "source": "notes.md", "page": None, "start": 10 * n,
         "end": 10 * n + 9, "score": 0.5, "text": f"第{n}段", "label": "notes.md"}
        for n in range(1, sources + 1)
    ]  # fmt: skip
    return Turn(question=question, answer=answer, error="", cited=[1], sources=cards)


@pytest.fixture
def store(tmp_path: Path) -> HistoryStore:
    return HistoryStore(tmp_path / "state" / "history.sqlite3")


def test_a_conversation_is_created_continued_listed_renamed_exported_and_deleted(store):
    first = store.create(
        "什么是困惑度？", kb="notes", profile="local", turns=[turn("什么是困惑度？")]
    )
    second = store.create("What is LoRA?", kb="default", profile="openai")
    assert store.append_turn(first, turn("它越低越好吗？", sources=2)) == 1

    listed = store.list()
    assert [c.id for c in listed] == [first, second]  # the one continued last comes first
    assert (listed[0].title, listed[0].kb, listed[0].profile) == (
        "什么是困惑度？",
        "notes",
        "local",
    )
    assert listed[0].turns == []

    stored = store.get(first)
    assert [t["question"] for t in stored.turns] == ["什么是困惑度？", "它越低越好吗？"]
    assert stored.turns[1] == turn("它越低越好吗？", sources=2)  # sources, ids and offsets kept

    assert store.rename(first, "  Perplexity\n notes ") == "Perplexity notes"
    assert store.get(first).title == "Perplexity notes"
    markdown = store.export_markdown(first)
    assert markdown.startswith("# Perplexity notes\n")
    assert "knowledge base notes · profile local" in markdown
    assert "## 它越低越好吗？" in markdown and "- [2] notes.md" in markdown

    assert store.delete(first) is True
    assert [c.id for c in store.list()] == [second]
    with pytest.raises(UnknownConversation):
        store.get(first)
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0  # turns went too
    assert store.delete(first) is False


def test_bad_input_is_refused_clearly(store):
    conversation = store.create("q", kb="default", profile="local")
    with pytest.raises(ValueError, match="cannot be empty"):
        store.rename(conversation, " \n ")
    store.delete(conversation)
    with pytest.raises(UnknownConversation, match="no conversation"):
        store.append_turn(conversation, turn("q2"))
    with pytest.raises(UnknownConversation):
        store.rename(conversation, "title")
    long = store.create("word " * 100, kb="default", profile="local")
    assert len(store.get(long).title) == TITLE_CHARS


def test_the_file_is_versioned_and_written_ahead(store):
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    HistoryStore(store.path)  # opening again migrates nothing and keeps the data


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE future (x)")
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match="newer ragchat"):
        HistoryStore(path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert raw.execute("SELECT name FROM sqlite_master").fetchall() == [("future",)]


def test_a_damaged_file_is_reported_and_never_replaced(tmp_path):
    path = tmp_path / "history.sqlite3"
    garbage = b"these are not the conversations you are looking for\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(HistoryError, match="not a ragchat history.*left as it is"):
        HistoryStore(path)
    assert path.read_bytes() == garbage


def test_threads_append_to_one_conversation_at_once(store):
    conversation = store.create("q", kb="default", profile="local")
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for i in range(15):
                store.append_turn(conversation, turn(f"{worker}-{i}"))
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    questions = [t["question"] for t in store.get(conversation).turns]
    assert sorted(questions) == sorted(f"{w}-{i}" for w in range(6) for i in range(15))
    for worker in range(6):  # each thread's turns in the order it stored them
        mine = [q for q in questions if q.startswith(f"{worker}-")]
        assert mine == [f"{worker}-{i}" for i in range(15)]


WRITER = """
import sys
from history.store import HistoryStore, Turn
store = HistoryStore(sys.argv[1])
conversation = store.create("q", kb="default", profile="local")
big = "长" * 20000
for position in range(100000):
    sources = [{"n": n, "id": f"{position}-{n}", "text": big} for n in range(1, 9)]
    store.append_turn(conversation, Turn(question=f"q{position}", answer=big, error="",
                                         cited=[1, 2], sources=sources))
    print(position, flush=True)
"""


def test_a_process_killed_mid_write_leaves_every_committed_turn_whole(tmp_path):
    path = tmp_path / "history.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    committed = -1
    while committed < 40:
        line = writer.stdout.readline()
        assert line, "the writer stopped by itself"
        committed = int(line)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    turns = HistoryStore(path).get(1).turns
    assert len(turns) >= committed + 1  # every turn reported committed is there
    for position, stored in enumerate(turns):  # and whole, including one the kill raced
        assert stored["question"] == f"q{position}"
        assert stored["answer"] == "长" * 20000
        assert [s["id"] for s in stored["sources"]] == [f"{position}-{n}" for n in range(1, 9)]


def test_a_stored_source_says_when_its_document_changed_or_went():
    manifest = Manifest(
        chunking={}, files={"notes.md": FileRecord("h", 10, ["chunk-1", "chunk-2"], 0.0)}
    )
    card = turn("q")["sources"][0]
    assert source_note(card, manifest) == ""
    assert source_note({**card, "id": "chunk-9"}, manifest) == CHANGED
    assert source_note({**card, "source": "gone.md"}, manifest) == GONE
    assert source_note(card, None) == GONE  # no index at all, or the knowledge base is gone
    stored = turn("q", sources=3)
    noted = with_notes([stored], manifest)
    assert [s["note"] for s in noted[0]["sources"]] == ["", "", CHANGED]
    assert "note" not in stored["sources"][0]  # copies: the stored turn is left as it was
