"""One SQLite file of ragchat's own (the history, the accounts): opened safely from many threads
and processes, its schema versioned and migrated, and every failure said about that file.

Why it is built this way: the journal is a write-ahead log and every change is one transaction,
so a process killed mid-write leaves the file readable with every committed change whole.
Streamlit runs each browser session in its own thread: every call opens its own connection
(sqlite3 connections are not shared between threads) and waits up to `busy_seconds` for another
writer. The schema's version is kept in `PRAGMA user_version` and upgraded by the file's
migrations; a file written by a newer ragchat is refused, and a damaged file is reported, never
replaced: the user's data is not deleted behind their back.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from errors import RagchatError


@dataclass(frozen=True)
class FileKind:
    """What a file is, for its messages, and how its schema grows."""

    noun: str
    """What the file is called in a message: "chat history file"."""
    is_not: str
    """What a file of another kind is not: "a ragchat history"."""
    setting: str
    """The setting that names the file: "paths.history"."""
    instead: str
    """What a person can do about a damaged file, as a sentence."""
    error: type[RagchatError]
    migrations: Sequence[Sequence[str]]
    """`migrations[n]` upgrades a file from schema n to n + 1, in one transaction."""


class SqliteFile:
    """Connections and transactions on one file of `kind`, whose schema is brought up to date
    when it is opened."""

    def __init__(self, path: Path, kind: FileKind, busy_seconds: float = 10.0) -> None:
        """Open (or create) the file and migrate it, or raise `kind.error`."""
        self.path = Path(path)
        self.kind = kind
        self.busy_seconds = busy_seconds
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise kind.error(f"{self.path}: cannot create its folder ({err})") from None
        with self.connection() as connection:
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise kind.error(f"{self.path}: cannot use a write-ahead log (journal mode {mode})")
        with self.transaction() as connection:
            self._migrate(connection)

    @property
    def schema_version(self) -> int:
        return len(self.kind.migrations)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own (closed after), in autocommit mode: `transaction` says where
        transactions begin. sqlite3's errors become the kind's error naming the file."""
        try:
            connection = sqlite3.connect(self.path, timeout=self.busy_seconds, isolation_level=None)
        except sqlite3.Error as err:
            raise self.error(err) from None
        try:
            connection.execute("PRAGMA foreign_keys = ON")
            yield connection
        except sqlite3.Error as err:
            raise self.error(err) from None
        finally:
            connection.close()

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction, committed if the block ends normally and rolled back otherwise.
        Writers take the write lock at BEGIN, so what they read cannot change before they
        write; readers see one snapshot across their queries."""
        with self.connection() as connection:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield connection
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def error(self, err: sqlite3.Error) -> RagchatError:
        """A sqlite3 error as a message about this file, which is left as it is."""
        if isinstance(err, sqlite3.DatabaseError) and "not a database" in str(err):
            what = f"is not {self.kind.is_not} (or is damaged)"
        else:
            what = f"cannot be used ({err})"
        return self.kind.error(
            f"{self.kind.noun} {self.path} {what}; it was left as it is. {self.kind.instead}"
        )

    def _migrate(self, connection: sqlite3.Connection) -> None:
        """Bring the schema up to date inside the caller's transaction; refuse a newer one."""
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > self.schema_version:
            raise self.kind.error(
                f"{self.kind.noun} {self.path} was written by a newer ragchat (schema {version}; "
                f"this one reads up to {self.schema_version}); upgrade ragchat, or set "
                f"{self.kind.setting} to another file"
            )
        for step in self.kind.migrations[version:]:
            for statement in step:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {self.schema_version}")
