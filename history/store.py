"""Stored conversations: one SQLite file (`paths.history`) beside the knowledge bases.

    store = HistoryStore(settings.paths.history)
    conversation = store.create(question, kb="default", profile="local")
    store.append_turn(conversation, turn)   # one transaction: stored whole or not at all
    store.list(owned_by=[person_id]); store.get(conversation); store.rename(...); store.delete(...)

Why it is built this way: the journal is a write-ahead log and every turn is one transaction,
so a process killed mid-write leaves the file readable with every committed turn whole.
Streamlit runs each browser session in its own thread: every call opens its own connection
(sqlite3 connections are not shared between threads) and waits up to `busy_seconds` for
another writer. The schema's version is kept in `PRAGMA user_version` and upgraded by
`MIGRATIONS`; a file written by a newer ragchat is refused, and a damaged file is reported,
never replaced: the user's conversations are not deleted behind their back.

Each conversation records its `owner`, a person id (`accounts`); the store only keeps and
filters it: whose a conversation is, and what NULL (a conversation from before people) means, is
`services.conversations`' business.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing_extensions import TypedDict

from errors import RagchatError
from history.markdown import conversation_markdown
from i18n import N_
from storage.sqlite_file import FileKind, SqliteFile

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: conversations and their turns.
    (
        """CREATE TABLE conversations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            title TEXT NOT NULL,
            kb TEXT NOT NULL,
            profile TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )""",
        "CREATE INDEX conversations_by_update ON conversations (updated_at)",
        """CREATE TABLE turns (
            conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            question TEXT NOT NULL,
            answer TEXT NOT NULL,
            error TEXT NOT NULL,
            cited TEXT NOT NULL,
            sources TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (conversation_id, position)
        )""",
    ),
    # 1 -> 2: whose each conversation is (NULL: from before people).
    (
        "ALTER TABLE conversations ADD COLUMN owner INTEGER",
        "CREATE INDEX conversations_by_owner ON conversations (owner, updated_at)",
    ),
)
"""`MIGRATIONS[n]` upgrades a file from schema n to n + 1, in one transaction."""
SCHEMA_VERSION = len(MIGRATIONS)
TITLE_CHARS = 80


class HistoryError(RagchatError):
    """The history file cannot be used; the message names it and says what to do."""

    code = "history_unavailable"
    http_status = 503


class UnknownConversation(HistoryError):
    """No conversation has this id (deleted, perhaps from another tab)."""

    code = "conversation_not_found"
    http_status = 404


class InvalidTitle(RagchatError, ValueError):
    """A title that cannot name a conversation (empty)."""

    code = "invalid_title"


HISTORY_FILE = FileKind(
    noun="chat history file",
    is_not="a ragchat history",
    setting="paths.history",
    instead="Move it away (or set paths.history to another file) to start a new history.",
    error=HistoryError,
    migrations=MIGRATIONS,
)


class Turn(TypedDict):
    """One question and its answer, as the chat page keeps it."""

    question: str
    answer: str
    error: str
    cited: list[int]
    sources: list[dict[str, Any]]
    """The source cards (`asdict(SourceCard)`): id, source, page, start, end, text, ..."""


@dataclass(frozen=True)
class Conversation:
    id: int
    title: str
    kb: str
    profile: str
    created_at: float
    updated_at: float
    owner: int | None = None
    """The person id it belongs to; None for a conversation from before people."""
    turns: list[Turn] = field(default_factory=list)
    """Empty in `HistoryStore.list`; filled by `HistoryStore.get`."""


def title_of(question: str) -> str:
    """A one-line title from a question: whitespace collapsed, at most TITLE_CHARS long."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def local_time(timestamp: float) -> str:
    """A stored time as the user's clock shows it, to the minute."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class HistoryStore:
    """The conversations in one SQLite file; safe to use from several threads and processes."""

    def __init__(self, path: Path, busy_seconds: float = 10.0) -> None:
        """Open (or create) the file and bring its schema up to date, or raise HistoryError."""
        file = SqliteFile(path, HISTORY_FILE, busy_seconds)
        self.path = file.path
        self._transaction = file.transaction

    def create(
        self,
        question: str,
        kb: str,
        profile: str,
        turns: Sequence[Turn] = (),
        owner: int | None = None,
    ) -> int:
        """A new conversation of `owner` titled after its first question, holding `turns`
        (stored in the same transaction: a conversation is never left without its first turn);
        its id."""
        now = time.time()
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO conversations (title, kb, profile, created_at, updated_at, owner) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (title_of(question), kb, profile, now, now, owner),
            )
            conversation = int(cursor.lastrowid)
            for turn in turns:
                _insert_turn(connection, conversation, turn, now)
        return conversation

    def append_turn(self, conversation: int, turn: Turn) -> int:
        """Store a finished turn at the end of a conversation, in one transaction; its position.
        Raises UnknownConversation when it has been deleted."""
        now = time.time()
        with self._transaction() as connection:
            _touch(connection, conversation, now)
            return _insert_turn(connection, conversation, turn, now)

    def list(self, owned_by: Collection[int | None] | None = None) -> list[Conversation]:
        """The conversations without their turns, the most recently continued first: every one,
        or those whose owner is in `owned_by` (None in it: those without an owner)."""
        where, args = "", ()
        if owned_by is not None:
            ids = tuple(owner for owner in owned_by if owner is not None)
            where = f"WHERE owner IN ({', '.join('?' * len(ids))})"
            if None in owned_by:
                where += " OR owner IS NULL"
            args = ids
        with self._transaction(write=False) as connection:
            rows = connection.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations {where} "
                "ORDER BY updated_at DESC, id DESC",
                args,
            ).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, conversation: int) -> Conversation:
        """A conversation with its turns in order, or UnknownConversation."""
        with self._transaction(write=False) as connection:
            row = connection.execute(
                f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id = ?",
                (conversation,),
            ).fetchone()
            if row is None:
                raise _unknown(conversation)
            turns = connection.execute(
                "SELECT question, answer, error, cited, sources FROM turns "
                "WHERE conversation_id = ? ORDER BY position",
                (conversation,),
            ).fetchall()
        stored = [
            Turn(question=q, answer=a, error=e, cited=json.loads(c), sources=json.loads(s))
            for q, a, e, c, s in turns
        ]
        return Conversation(*row, turns=stored)

    def owner(self, conversation: int) -> int | None:
        """Whose a conversation is (None: nobody's, from before people), or
        UnknownConversation."""
        with self._transaction(write=False) as connection:
            row = connection.execute(
                "SELECT owner FROM conversations WHERE id = ?", (conversation,)
            ).fetchone()
        if row is None:
            raise _unknown(conversation)
        return row[0]

    def rename(self, conversation: int, title: str) -> str:
        """Give a conversation a new title (one line, not empty); the title as stored."""
        title = title_of(title)
        if not title:
            raise InvalidTitle(N_("a conversation's title cannot be empty"))
        with self._transaction() as connection:
            updated = connection.execute(
                "UPDATE conversations SET title = ? WHERE id = ?", (title, conversation)
            )
            if updated.rowcount == 0:
                raise _unknown(conversation)
        return title

    def rename_kb(self, old: str, new: str) -> int:
        """Conversations of knowledge base `old` follow it to its new name; how many did."""
        with self._transaction() as connection:
            moved = connection.execute("UPDATE conversations SET kb = ? WHERE kb = ?", (new, old))
            return moved.rowcount

    def delete(self, conversation: int) -> bool:
        """Remove a conversation and its turns; False when it was already gone."""
        with self._transaction() as connection:
            deleted = connection.execute("DELETE FROM conversations WHERE id = ?", (conversation,))
            return deleted.rowcount > 0

    def export_markdown(self, conversation: int) -> str:
        """The conversation as a Markdown file, headed by its title, date, knowledge base and
        chat model profile."""
        stored = self.get(conversation)
        about = (
            f"{local_time(stored.created_at)} · knowledge base {stored.kb} · "
            f"profile {stored.profile}"
        )
        return conversation_markdown(stored.turns, title=stored.title, about=about)


_CONVERSATION_COLUMNS = "id, title, kb, profile, created_at, updated_at, owner"


def _touch(connection: sqlite3.Connection, conversation: int, now: float) -> None:
    updated = connection.execute(
        "UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation)
    )
    if updated.rowcount == 0:
        raise _unknown(conversation)


def _insert_turn(connection: sqlite3.Connection, conversation: int, turn: Turn, now: float) -> int:
    position = connection.execute(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM turns WHERE conversation_id = ?",
        (conversation,),
    ).fetchone()[0]
    connection.execute(
        "INSERT INTO turns (conversation_id, position, question, answer, error, cited, "
        "sources, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            conversation,
            position,
            turn["question"],
            turn["answer"],
            turn["error"],
            json.dumps(list(turn["cited"])),
            json.dumps(list(turn["sources"]), ensure_ascii=False),
            now,
        ),
    )
    return position


def _unknown(conversation: int) -> UnknownConversation:
    return UnknownConversation(N_("there is no conversation {id}"), id=conversation)
