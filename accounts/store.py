"""People, API keys, sessions, sign-in failures, knowledge-base shares and the audit log: rows in
one SQLite file (`paths.users`) beside the history.

    store = AccountStore(settings.paths.users)
    person = store.add_person("ada", "admin", password_hash, now)
    store.add_key(key_id, person, secret_digest, now, expires_at=None)
    store.set_kb_owner("notes", person); store.set_share("notes", EVERYONE, "read")
    store.append_audit(now, "ada", "kb_create", "notes", "")

The store knows rows, not people: what a role may do, whether a key is still good or a sign-in
is locked is `services.people`'s and `services.permissions`' business. It keeps no secret in
clear: password hashes (argon2), digests of API key secrets and session ids, and the server
secret that signs session tokens.

Built like `history.store`, for the same reasons: a write-ahead log, one connection per call
(Streamlit and the API call from many threads), a busy timeout for other writers, the schema's
version in `PRAGMA user_version` upgraded by `MIGRATIONS`, a file from a newer ragchat refused,
and a damaged file reported and never replaced (it holds everyone's accounts). The audit log is
append-only in the file itself: triggers refuse to change or delete its rows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from accounts.keys import new_server_secret
from errors import RagchatError
from i18n import N_
from storage.sqlite_file import FileKind, SqliteFile

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: people, keys, sessions, sign-in failures, knowledge-base shares, audit log.
    (
        """CREATE TABLE people (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL
        )""",
        """CREATE TABLE api_keys (
            key_id TEXT PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people (id),
            secret_digest TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL,
            last_used_at REAL,
            revoked_at REAL
        )""",
        """CREATE TABLE sessions (
            digest TEXT PRIMARY KEY,
            person_id INTEGER NOT NULL REFERENCES people (id),
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            ended_at REAL
        )""",
        """CREATE TABLE sign_in_failures (
            name_digest TEXT PRIMARY KEY,
            failures INTEGER NOT NULL,
            last_failure_at REAL NOT NULL,
            locked_until REAL NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE kb_owners (
            kb TEXT PRIMARY KEY,
            owner_id INTEGER NOT NULL REFERENCES people (id)
        )""",
        """CREATE TABLE kb_shares (
            kb TEXT NOT NULL REFERENCES kb_owners (kb) ON UPDATE CASCADE ON DELETE CASCADE,
            person_id INTEGER NOT NULL,
            level TEXT NOT NULL CHECK (level IN ('read', 'write')),
            PRIMARY KEY (kb, person_id)
        )""",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        """CREATE TRIGGER audit_rows_stay BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        """CREATE TRIGGER audit_rows_are_kept BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        "CREATE TABLE server (key TEXT PRIMARY KEY, value BLOB NOT NULL)",
    ),
    # 1 -> 2: each person's interface language, once they pick one in the app.
    (
        """CREATE TABLE preferences (
            person_id INTEGER PRIMARY KEY REFERENCES people (id),
            language TEXT NOT NULL
        )""",
    ),
)
"""`MIGRATIONS[n]` upgrades a file from schema n to n + 1, in one transaction."""
SCHEMA_VERSION = len(MIGRATIONS)
EVERYONE = 0
"""`kb_shares.person_id` of a share with everyone signed in (people's ids start at 1)."""


class AccountStoreError(RagchatError):
    """The accounts file cannot be used; the message names it and says what to do."""

    code = "accounts_unavailable"
    http_status = 503


ACCOUNTS_FILE = FileKind(
    noun="accounts file",
    is_not="a ragchat accounts file",
    setting="paths.users",
    instead=(
        "Restore it from a backup, or set paths.users to another file to start again with "
        "no accounts."
    ),
    error=AccountStoreError,
    migrations=MIGRATIONS,
)


class NameTaken(RagchatError):
    """Another person already has this name."""

    code = "person_exists"
    http_status = 409


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    role: str
    password_hash: str
    disabled: bool
    created_at: float


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    person_id: int
    secret_digest: str
    created_at: float
    expires_at: float | None
    """None: the key does not expire."""
    last_used_at: float | None
    revoked_at: float | None

    def state(self, now: float) -> str:
        """`revoked`, `expired` or `active` at time `now`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class SessionRow:
    person_id: int
    created_at: float
    expires_at: float
    ended_at: float | None
    """When it was signed out of; None while it lasts."""


@dataclass(frozen=True)
class FailureRow:
    failures: int
    """Failed sign-ins under this name since its last success."""
    locked_until: float


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    actor: str
    action: str
    target: str
    detail: str


class AccountStore:
    """The rows in one SQLite file; safe to use from several threads and processes."""

    server_secret: bytes
    """Signs session tokens; made once per file, so sessions outlive a restart."""

    def __init__(self, path: Path, busy_seconds: float = 10.0) -> None:
        """Open (or create) the file, bring its schema up to date and read the server secret,
        or raise AccountStoreError."""
        file = SqliteFile(path, ACCOUNTS_FILE, busy_seconds)
        self.path = file.path
        self._connection = file.connection
        self._transaction = file.transaction
        self._error = file.error
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO server (key, value) VALUES ('session_secret', ?)",
                (new_server_secret(),),
            )
            self.server_secret = connection.execute(
                "SELECT value FROM server WHERE key = 'session_secret'"
            ).fetchone()[0]
        self._keeper = self._keep_open()

    def _keep_open(self) -> sqlite3.Connection:
        """A connection that holds the file open (once it has read, it keeps the write-ahead
        log's index mapped) and does nothing else: the last connection to close checkpoints the
        log and deletes it, which cost each call 0.2 ms more (measured) when its own connection
        was the only one."""
        try:
            keeper = sqlite3.connect(self.path, check_same_thread=False)
            keeper.execute("SELECT 1 FROM server").fetchall()
        except sqlite3.Error as err:
            raise self._error(err) from None
        return keeper

    # People.

    def add_person(self, name: str, role: str, password_hash: str, now: float) -> int:
        """A new person's id, or NameTaken."""
        with self._transaction() as connection:
            if connection.execute("SELECT 1 FROM people WHERE name = ?", (name,)).fetchone():
                raise NameTaken(N_("there is already a person named {name!r}"), name=name)
            cursor = connection.execute(
                "INSERT INTO people (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
                (name, role, password_hash, now),
            )
            return int(cursor.lastrowid)

    def person(self, name: str) -> PersonRow | None:
        return self._first(_person_row, f"SELECT {_PERSON} FROM people WHERE name = ?", name)

    def person_by_id(self, person_id: int) -> PersonRow | None:
        return self._first(_person_row, f"SELECT {_PERSON} FROM people WHERE id = ?", person_id)

    def people(self) -> list[PersonRow]:
        """Everyone, in the order they were added."""
        return [
            _person_row(*row) for row in self._select(f"SELECT {_PERSON} FROM people ORDER BY id")
        ]

    def first_with_role(self, role: str) -> PersonRow | None:
        """The earliest added person with `role` (the first admin owns what nobody else does)."""
        return self._first(
            _person_row, f"SELECT {_PERSON} FROM people WHERE role = ? ORDER BY id LIMIT 1", role
        )

    def update_person(
        self,
        name: str,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
    ) -> bool:
        """Change the given columns of a person's row; False when nobody has that name."""
        changes = {"role": role, "password_hash": password_hash, "disabled": disabled}
        columns = {column: value for column, value in changes.items() if value is not None}
        if not columns:
            raise ValueError("update_person needs a column to change")
        assignments = ", ".join(f"{column} = ?" for column in columns)
        return (
            self._write(f"UPDATE people SET {assignments} WHERE name = ?", *columns.values(), name)
            > 0
        )

    def language(self, person_id: int) -> str | None:
        """The interface language the person picked, None before they pick one."""
        rows = self._select("SELECT language FROM preferences WHERE person_id = ?", person_id)
        return rows[0][0] if rows else None

    def set_language(self, person_id: int, language: str) -> None:
        self._write(
            "INSERT INTO preferences (person_id, language) VALUES (?, ?)"
            " ON CONFLICT (person_id) DO UPDATE SET language = excluded.language",
            person_id,
            language,
        )

    # API keys.

    def add_key(
        self, key_id: str, person_id: int, secret_digest: str, now: float, expires_at: float | None
    ) -> None:
        self._write(
            "INSERT INTO api_keys (key_id, person_id, secret_digest, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            key_id,
            person_id,
            secret_digest,
            now,
            expires_at,
        )

    def key(self, key_id: str) -> KeyRow | None:
        return self._first(KeyRow, f"SELECT {_KEY} FROM api_keys WHERE key_id = ?", key_id)

    def key_and_holder(self, key_id: str) -> tuple[KeyRow, PersonRow] | None:
        """A key with its holder's row, in one query: every API request asks this."""
        rows = self._select(
            f"SELECT {_of('api_keys', _KEY)}, {_of('people', _PERSON)} FROM api_keys JOIN people "
            "ON people.id = api_keys.person_id WHERE key_id = ?",
            key_id,
        )
        if not rows:
            return None
        key_columns = len(_KEY.split(", "))
        return KeyRow(*rows[0][:key_columns]), _person_row(*rows[0][key_columns:])

    def keys(self, person_id: int | None = None) -> list[KeyRow]:
        """Everyone's keys, or one person's, oldest first."""
        where, args = ("WHERE person_id = ?", (person_id,)) if person_id is not None else ("", ())
        rows = self._select(
            f"SELECT {_KEY} FROM api_keys {where} ORDER BY created_at, key_id", *args
        )
        return [KeyRow(*row) for row in rows]

    def revoke_key(self, key_id: str, now: float) -> bool:
        """Mark a key revoked (the first time counts); False when there is no such key."""
        return (
            self._write(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?",
                now,
                key_id,
            )
            > 0
        )

    def touch_key(self, key_id: str, now: float) -> None:
        """Record that a key was used at `now`."""
        self._write("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?", now, key_id)

    # Sessions.

    def add_session(self, digest: str, person_id: int, now: float, expires_at: float) -> None:
        """Store a new session and drop those that have expired."""
        with self._transaction() as connection:
            connection.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))
            connection.execute(
                "INSERT INTO sessions (digest, person_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (digest, person_id, now, expires_at),
            )

    def session(self, digest: str) -> SessionRow | None:
        return self._first(
            SessionRow,
            "SELECT person_id, created_at, expires_at, ended_at FROM sessions WHERE digest = ?",
            digest,
        )

    def end_session(self, digest: str, now: float) -> bool:
        """Mark a session ended; False when it was unknown or already ended."""
        return (
            self._write(
                "UPDATE sessions SET ended_at = ? WHERE digest = ? AND ended_at IS NULL",
                now,
                digest,
            )
            > 0
        )

    # Sign-in failures, by a digest of the name as typed.

    def failures(self, name_digest: str) -> FailureRow:
        row = self._first(
            FailureRow,
            "SELECT failures, locked_until FROM sign_in_failures WHERE name_digest = ?",
            name_digest,
        )
        return row or FailureRow(0, 0.0)

    def add_failure(self, name_digest: str, now: float) -> int:
        """Count one more failure (atomically, however many sign in at once); the count."""
        with self._transaction() as connection:
            return connection.execute(
                "INSERT INTO sign_in_failures (name_digest, failures, last_failure_at) "
                "VALUES (?, 1, ?) ON CONFLICT (name_digest) DO UPDATE SET "
                "failures = failures + 1, last_failure_at = excluded.last_failure_at "
                "RETURNING failures",
                (name_digest, now),
            ).fetchall()[0][0]

    def lock(self, name_digest: str, until: float) -> None:
        self._write(
            "UPDATE sign_in_failures SET locked_until = ? WHERE name_digest = ?", until, name_digest
        )

    def clear_failures(self, name_digest: str) -> None:
        self._write("DELETE FROM sign_in_failures WHERE name_digest = ?", name_digest)

    # Knowledge bases: owner and shares (person id, or EVERYONE, -> 'read' | 'write').

    def kb_owner(self, kb: str) -> int | None:
        rows = self._select("SELECT owner_id FROM kb_owners WHERE kb = ?", kb)
        return rows[0][0] if rows else None

    def kb_shares(self, kb: str) -> dict[int, str]:
        return dict(self._select("SELECT person_id, level FROM kb_shares WHERE kb = ?", kb))

    def kb_records(self, kbs: Sequence[str]) -> dict[str, tuple[int | None, dict[int, str]]]:
        """The owner and shares of each of `kbs` (None, {} for one without rows), in one query:
        every request that names a knowledge base, or lists them, asks this."""
        records: dict[str, tuple[int | None, dict[int, str]]] = {kb: (None, {}) for kb in kbs}
        rows = self._select(
            "SELECT kb_owners.kb, owner_id, person_id, level FROM kb_owners LEFT JOIN kb_shares "
            f"ON kb_shares.kb = kb_owners.kb WHERE kb_owners.kb IN ({', '.join('?' * len(kbs))})",
            *kbs,
        )
        for kb, owner_id, person_id, level in rows:
            records[kb] = (owner_id, records[kb][1])
            if person_id is not None:
                records[kb][1][person_id] = level
        return records

    def set_kb_owner(self, kb: str, owner_id: int) -> None:
        """Give `kb` an owner and no shares: rows left under its name by a knowledge base
        deleted behind ragchat's back do not pass to a new one."""
        with self._transaction() as connection:
            connection.execute("DELETE FROM kb_owners WHERE kb = ?", (kb,))
            connection.execute("INSERT INTO kb_owners (kb, owner_id) VALUES (?, ?)", (kb, owner_id))

    def claim_kbs(
        self, kbs: Sequence[str], owner_id: int, everyone: dict[str, str] | None = None
    ) -> list[str]:
        """Give each of `kbs` without an owner row to `owner_id`, shared with EVERYONE at the
        level `everyone` names for it, if any; in one transaction. The ones claimed."""
        claimed = []
        with self._transaction() as connection:
            for kb in kbs:
                inserted = connection.execute(
                    "INSERT OR IGNORE INTO kb_owners (kb, owner_id) VALUES (?, ?)", (kb, owner_id)
                )
                if inserted.rowcount == 0:
                    continue
                claimed.append(kb)
                if everyone and kb in everyone:
                    connection.execute(_SHARE, (kb, EVERYONE, everyone[kb]))
        return claimed

    def set_share(self, kb: str, person_id: int, level: str) -> None:
        """Share `kb` (which has an owner row) with a person or EVERYONE at `level`."""
        self._write(_SHARE, kb, person_id, level)

    def remove_share(self, kb: str, person_id: int) -> bool:
        return (
            self._write("DELETE FROM kb_shares WHERE kb = ? AND person_id = ?", kb, person_id) > 0
        )

    def rename_kb(self, old: str, new: str) -> bool:
        """Move `old`'s owner and shares to `new` in one transaction (shares follow by the
        foreign key's ON UPDATE CASCADE); leftover rows under `new` are dropped first. False
        when `old` had no rows."""
        with self._transaction() as connection:
            connection.execute("DELETE FROM kb_owners WHERE kb = ?", (new,))
            moved = connection.execute("UPDATE kb_owners SET kb = ? WHERE kb = ?", (new, old))
            return moved.rowcount > 0

    def forget_kb(self, kb: str) -> bool:
        """Drop `kb`'s owner and shares (the shares by ON DELETE CASCADE)."""
        return self._write("DELETE FROM kb_owners WHERE kb = ?", kb) > 0

    # The audit log.

    def append_audit(self, at: float, actor: str, action: str, target: str, detail: str) -> None:
        self._write(
            "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            at,
            actor,
            action,
            target,
            detail,
        )

    def audit(self, limit: int) -> list[AuditRow]:
        """The latest `limit` entries, newest first."""
        rows = self._select(
            "SELECT id, at, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?",
            limit,
        )
        return [AuditRow(*row) for row in rows]

    # Plumbing, as in history.store, plus one-statement shortcuts: a single SELECT reads one
    # snapshot and a single write is its own transaction, so neither needs BEGIN ... COMMIT
    # (which would double the cost of the per-request key check).

    def _select(self, sql: str, *args: object) -> list[tuple]:
        with self._connection() as connection:
            return connection.execute(sql, args).fetchall()

    def _first(self, row_type: Callable[..., _Row], sql: str, *args: object) -> _Row | None:
        rows = self._select(sql, *args)
        return row_type(*rows[0]) if rows else None

    def _write(self, sql: str, *args: object) -> int:
        """Run one statement that changes rows; how many it changed."""
        with self._connection() as connection:
            return connection.execute(sql, args).rowcount


_PERSON = "id, name, role, password_hash, disabled, created_at"
_SHARE = (
    "INSERT INTO kb_shares (kb, person_id, level) VALUES (?, ?, ?) "
    "ON CONFLICT (kb, person_id) DO UPDATE SET level = excluded.level"
)
_Row = TypeVar("_Row")
_KEY = "key_id, person_id, secret_digest, created_at, expires_at, last_used_at, revoked_at"


def _of(table: str, columns: str) -> str:
    """`columns` named with their table, for a join."""
    return ", ".join(f"{table}.{column}" for column in columns.split(", "))


def _person_row(
    person_id: int, name: str, role: str, password_hash: str, disabled: int, created_at: float
) -> PersonRow:
    return PersonRow(person_id, name, role, password_hash, bool(disabled), created_at)
