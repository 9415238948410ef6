"""Accounts: the SQLite store (schema, WAL, refusals), API keys, passwords and sign-in with its
lockout, sessions, knowledge-base owners and shares, and that no password or key is ever kept or
logged in clear. Real files in tmp_path and real argon2 (about 0.2 s a hash here, so each test
hashes only a few times)."""

from __future__ import annotations

import ast
import logging
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from accounts.keys import split_api_key
from accounts.passwords import verify_password
from accounts.store import MIGRATIONS, SCHEMA_VERSION, AccountStore, AccountStoreError, NameTaken
from config import AuthSettings
from services import people
from services.people import (
    LOCAL_OPERATOR,
    UNKNOWN_NAME,
    AccountError,
    AccountLocked,
    AccountService,
    Person,
    Role,
    ShareLevel,
    SignInFailed,
    UnknownApiKey,
)

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
DAY = 86400.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> list[float]:
    """The delays failed sign-ins asked for (nothing really waits)."""
    return []


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "users.sqlite3"


@pytest.fixture
def accounts(path: Path, clock: Clock, sleeps: list[float]) -> AccountService:
    settings = AuthSettings(max_failed_sign_ins=3, lockout_minutes=15)
    return AccountService(AccountStore(path), settings, clock=clock, sleep=sleeps.append)


@pytest.fixture
def ada(accounts: AccountService) -> Person:
    return accounts.add_person(LOCAL_OPERATOR, "ada", "admin", PASSWORD)


def actions(accounts: AccountService) -> list[tuple[str, str, str]]:
    """The audit log, oldest first, as (actor, action, target)."""
    return [(row.actor, row.action, row.target) for row in reversed(accounts.audit_log(1000))]


# The store.


def test_a_new_file_has_the_schema_in_a_write_ahead_log(path: Path) -> None:
    AccountStore(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"people", "api_keys", "sessions", "sign_in_failures", "kb_owners", "kb_shares"} <= (
        tables
    )
    assert {"audit", "server"} <= tables
    assert len(MIGRATIONS) == SCHEMA_VERSION


def test_reopening_keeps_the_rows_and_the_server_secret(path: Path) -> None:
    first = AccountStore(path)
    first.add_person("ada", "admin", "hash", 1.0)
    second = AccountStore(path)
    assert second.server_secret == first.server_secret and len(second.server_secret) == 32
    assert [row.name for row in second.people()] == ["ada"]
    with pytest.raises(NameTaken, match="already a person named 'ada'"):
        second.add_person("ada", "reader", "hash", 2.0)


def test_a_file_from_a_newer_ragchat_is_refused_and_kept(path: Path) -> None:
    AccountStore(path)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(AccountStoreError, match="newer ragchat") as refused:
        AccountStore(path)
    assert refused.value.http_status == 503
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_a_damaged_file_is_reported_and_never_replaced(path: Path) -> None:
    damaged = b"these are not the accounts you are looking for" * 100
    path.write_bytes(damaged)
    with pytest.raises(AccountStoreError, match="not a ragchat accounts file .* left as it is"):
        AccountStore(path)
    assert path.read_bytes() == damaged


def test_the_audit_log_is_append_only_in_the_file_itself(accounts: AccountService) -> None:
    accounts.audit(LOCAL_OPERATOR, "kb_create", "notes")
    with sqlite3.connect(accounts.store.path) as connection:
        for statement in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                connection.execute(statement)
    assert actions(accounts) == [("local operator", "kb_create", "notes")]


def test_accounts_imports_only_the_standard_library_argon2_errors_config_storage_i18n() -> None:
    allowed = set(sys.stdlib_module_names) | {"argon2", "errors", "config", "accounts", "storage"}
    allowed.add("i18n")  # its messages are translatable ids (`i18n.N_`)
    for module in (REPO / "accounts").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{module.name} imports {roots - allowed}"


# API keys.


def test_a_key_authenticates_its_holder_and_records_its_use_once_a_minute(
    accounts: AccountService, ada: Person, clock: Clock
) -> None:
    new = accounts.create_key(LOCAL_OPERATOR, "ada")
    assert new.key.startswith(f"rck_{new.key_id}_") and new.expires_at is None
    assert split_api_key(new.key) == (new.key_id, new.key.split("_", 2)[2])
    assert accounts.authenticate_key(new.key) == ada
    assert accounts.keys("ada")[0].last_used_at == clock.now
    first_use = clock.now
    clock.now += 30
    assert accounts.authenticate_key(new.key) == ada
    assert accounts.keys()[0].last_used_at == first_use  # not written again within a minute
    clock.now += 31
    assert accounts.authenticate_key(f"  {new.key}\n") == ada
    assert accounts.keys()[0].last_used_at == clock.now


def test_a_revoked_key_is_refused(accounts: AccountService, ada: Person) -> None:
    new = accounts.create_key(LOCAL_OPERATOR, "ada")
    accounts.revoke_key(LOCAL_OPERATOR, new.key_id)
    assert accounts.authenticate_key(new.key) is None
    assert accounts.keys()[0].state == "revoked"
    with pytest.raises(UnknownApiKey, match="no API key 'nope'"):
        accounts.revoke_key(LOCAL_OPERATOR, "nope")
    assert ("local operator", "key_revoke", "ada") in actions(accounts)


def test_an_expired_key_is_refused(accounts: AccountService, ada: Person, clock: Clock) -> None:
    new = accounts.create_key(LOCAL_OPERATOR, "ada", expires_days=2)
    assert new.expires_at == clock.now + 2 * DAY
    clock.now += 2 * DAY - 1
    assert accounts.authenticate_key(new.key) == ada
    clock.now += 1
    assert accounts.authenticate_key(new.key) is None
    assert accounts.keys()[0].state == "expired"
    with pytest.raises(AccountError, match="more than 0 days"):
        accounts.create_key(LOCAL_OPERATOR, "ada", expires_days=0)


def test_a_disabled_persons_key_is_refused_until_they_are_enabled(
    accounts: AccountService, ada: Person
) -> None:
    new = accounts.create_key(LOCAL_OPERATOR, "ada")
    accounts.set_disabled(LOCAL_OPERATOR, "ada")
    assert accounts.authenticate_key(new.key) is None
    accounts.set_disabled(LOCAL_OPERATOR, "ada", False)
    assert accounts.authenticate_key(new.key) == ada


def test_a_wrong_or_malformed_key_is_refused(accounts: AccountService, ada: Person) -> None:
    new = accounts.create_key(LOCAL_OPERATOR, "ada")
    secret = new.key.split("_", 2)[2]
    other = "A" if secret[-1] != "A" else "B"
    for raw in (
        "",
        "garbage",
        "rck__x",
        f"rck_{new.key_id}_",
        f"rck_{new.key_id}_{secret[:-1]}{other}",
        f"rck_0000000000000000_{secret}",
        f"xyz_{new.key_id}_{secret}",
        f"rck_{new.key_id}_{secret}é",
    ):
        assert accounts.authenticate_key(raw) is None, raw


def test_checking_a_key_takes_no_slow_hash(accounts: AccountService, ada: Person) -> None:
    new = accounts.create_key(LOCAL_OPERATOR, "ada")
    started = time.perf_counter()
    for _ in range(100):
        assert accounts.authenticate_key(new.key) == ada
    assert (time.perf_counter() - started) / 100 < 0.01  # ~0.5 ms measured; argon2 is ~200


# Passwords and signing in.


def test_a_password_is_stored_as_an_argon2id_hash(accounts: AccountService, ada: Person) -> None:
    stored = accounts.store.person("ada").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(AccountError, match="at least 8 characters"):
        accounts.add_person(LOCAL_OPERATOR, "bob", "reader", "short")
    with pytest.raises(AccountError, match="cannot be a name"):
        accounts.add_person(LOCAL_OPERATOR, "bob smith", "reader", PASSWORD)
    with pytest.raises(AccountError, match="'boss' is not a role; use one of: admin, editor"):
        accounts.add_person(LOCAL_OPERATOR, "bob", "boss", PASSWORD)


def test_signing_in_with_the_right_password_and_a_wrong_one(
    accounts: AccountService, ada: Person, sleeps: list[float]
) -> None:
    token = accounts.sign_in("ada", PASSWORD)
    assert accounts.session_person(token) == ada
    with pytest.raises(SignInFailed, match="^wrong name or password$") as failed:
        accounts.sign_in("ada", "not the password")
    assert failed.value.code == "sign_in_failed" and failed.value.http_status == 401
    assert sleeps == [0.25]
    assert actions(accounts)[-2:] == [
        ("ada", "sign_in", "ada"),
        ("ada", "sign_in_failed", "ada"),
    ]


def test_an_unknown_name_fails_like_a_wrong_password(
    accounts: AccountService, ada: Person, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = []

    def verify(encoded: str, password: str) -> bool:
        checked.append(encoded.rsplit("$", 2)[0])  # the algorithm and its parameters
        return verify_password(encoded, password)

    monkeypatch.setattr(people, "verify_password", verify)
    messages = []
    for name in ("ada", "nobody"):
        with pytest.raises(SignInFailed) as failed:
            accounts.sign_in(name, "not the password")
        messages.append((type(failed.value), str(failed.value)))
    assert messages[0] == messages[1]
    assert checked[0] == checked[1]  # a stand-in hash as costly as a real one
    assert sleeps == [0.25, 0.25]  # counted per name, the same way
    assert actions(accounts)[-1] == (UNKNOWN_NAME, "sign_in_failed", UNKNOWN_NAME)


def test_repeated_failures_lock_the_name_and_are_audited(
    accounts: AccountService,
    ada: Person,
    clock: Clock,
    sleeps: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(2):
        with pytest.raises(SignInFailed):
            accounts.sign_in("ada", "guess")
    with pytest.raises(AccountLocked, match="try again in 15 minutes") as locked:
        accounts.sign_in("ada", "guess")
    assert locked.value.code == "account_locked" and locked.value.http_status == 429
    assert sleeps == [0.25, 0.5, 1.0]  # each failure in a row waits longer
    with pytest.raises(AccountLocked):  # even the right password, while locked
        accounts.sign_in("ada", PASSWORD)
    audited = [
        (row.action, row.detail)
        for row in reversed(accounts.audit_log(100))
        if row.action.startswith("sign_in")
    ]
    assert audited == [
        ("sign_in_failed", "1 in a row"),
        ("sign_in_failed", "2 in a row"),
        ("sign_in_failed", "3 in a row"),
        ("sign_in_locked", "locked after 3 failures"),
        ("sign_in_locked", "refused while locked"),
    ]
    assert "sign-in failed for ada (3 in a row)" in caplog.text
    assert "sign-in locked for ada after 3 failures" in caplog.text
    clock.now += 15 * 60 + 1
    assert accounts.session_person(accounts.sign_in("ada", PASSWORD)) == ada
    with pytest.raises(SignInFailed, match="wrong name"):  # the count started again
        accounts.sign_in("ada", "guess")
    assert sleeps[-1] == 0.25


def test_an_unknown_name_locks_the_same_way(accounts: AccountService, ada: Person) -> None:
    for _ in range(2):
        with pytest.raises(SignInFailed):
            accounts.sign_in("nobody", "guess")
    with pytest.raises(AccountLocked):
        accounts.sign_in("nobody", "guess")
    assert accounts.session_person(accounts.sign_in("ada", PASSWORD)) == ada  # others unaffected


def test_a_disabled_person_cannot_sign_in(accounts: AccountService, ada: Person) -> None:
    token = accounts.sign_in("ada", PASSWORD)
    accounts.set_disabled(LOCAL_OPERATOR, "ada")
    assert accounts.session_person(token) is None
    with pytest.raises(SignInFailed, match="disabled; ask an admin"):
        accounts.sign_in("ada", PASSWORD)


def test_a_changed_password_and_role(accounts: AccountService, ada: Person) -> None:
    accounts.set_password(LOCAL_OPERATOR, "ada", "a new password")
    accounts.set_role(LOCAL_OPERATOR, "ada", "reader")
    assert accounts.session_person(accounts.sign_in("ada", "a new password")) == Person(
        ada.id, "ada", Role.READER
    )
    assert accounts.audit_log(1)[0].action == "sign_in"
    assert [row.detail for row in accounts.audit_log(3)][1:] == ["admin -> reader", ""]


# Sessions.


def test_a_session_lasts_session_hours_and_survives_a_restart(
    accounts: AccountService, ada: Person, clock: Clock, path: Path
) -> None:
    token = accounts.sign_in("ada", PASSWORD)
    reloaded = AccountService(AccountStore(path), accounts.settings, clock=clock)
    assert reloaded.session_person(token) == ada
    clock.now += 12 * 3600 - 1
    assert reloaded.session_person(token) == ada
    clock.now += 1
    assert reloaded.session_person(token) is None


def test_a_signed_out_session_is_refused(accounts: AccountService, ada: Person) -> None:
    token = accounts.sign_in("ada", PASSWORD)
    accounts.sign_out(token)
    assert accounts.session_person(token) is None
    accounts.sign_out(token)  # twice is harmless, and audited once
    assert [action for _, action, _ in actions(accounts)].count("sign_out") == 1


def test_a_forged_or_foreign_token_is_refused(
    accounts: AccountService, ada: Person, tmp_path: Path
) -> None:
    token = accounts.sign_in("ada", PASSWORD)
    session_id, signature = token.split(".")
    other = AccountService(AccountStore(tmp_path / "other.sqlite3"), accounts.settings)
    forgeries = (
        "",
        ".",
        session_id,
        f"{session_id}.",
        f"{session_id}.{signature[:-2]}",
        f"{session_id[:-1]}{'x' if session_id[-1] != 'x' else 'y'}.{signature}",
        f"{session_id}.{signature}é",
    )
    for forged in forgeries:
        assert accounts.session_person(forged) is None, forged
    assert other.session_person(token) is None  # signed under another file's secret


# Knowledge bases: owners and shares.


def test_unowned_knowledge_bases_go_to_the_first_admin_and_default_is_shared(
    accounts: AccountService,
) -> None:
    assert accounts.claim_unowned(["default", "notes"]) == []  # no admin yet
    accounts.add_person(LOCAL_OPERATOR, "eve", "editor", PASSWORD)
    ada = accounts.add_person(LOCAL_OPERATOR, "ada", "admin", PASSWORD)
    assert accounts.claim_unowned(["default", "notes"]) == ["default", "notes"]
    default, notes = accounts.access("default"), accounts.access("notes")
    assert (default.owner, default.everyone, dict(default.shares)) == (ada.id, ShareLevel.READ, {})
    assert (notes.owner, notes.everyone) == (ada.id, None)
    assert accounts.claim_unowned(["default", "notes"]) == []
    assert ("local operator", "kb_claim", "notes") in actions(accounts)


def test_sharing_renaming_and_forgetting_a_knowledge_base(accounts: AccountService) -> None:
    eve = accounts.add_person(LOCAL_OPERATOR, "eve", "editor", PASSWORD)
    bob = accounts.store.add_person("bob", "reader", "unused hash", 0.0)
    accounts.record_created(eve, "notes")
    accounts.share(eve, "notes", "bob", "read")
    accounts.share(eve, "notes", "bob", "write")  # sharing again changes the level
    accounts.share(eve, "notes", None, "read")
    expected = {"owner": eve.id, "shares": {bob: ShareLevel.WRITE}, "everyone": ShareLevel.READ}
    assert _access(accounts, "notes") == expected
    accounts.rename_kb(eve, "notes", "journal")
    assert _access(accounts, "journal") == expected
    assert _access(accounts, "notes") == {"owner": None, "shares": {}, "everyone": None}
    accounts.unshare(eve, "journal", None)
    assert accounts.access("journal").everyone is None
    accounts.forget_kb(eve, "journal")
    assert _access(accounts, "journal") == {"owner": None, "shares": {}, "everyone": None}
    assert [action for _, action, _ in actions(accounts)][-6:] == [
        "kb_share",
        "kb_share",
        "kb_share",
        "kb_rename",
        "kb_unshare",
        "kb_delete",
    ]
    with pytest.raises(AccountError, match="'admin' is not a share level"):
        accounts.share(eve, "notes", "bob", "admin")
    with pytest.raises(AccountError, match="has no owner yet"):
        accounts.share(eve, "notes", "bob", "read")


def test_leftover_rows_do_not_pass_to_a_new_knowledge_base_of_that_name(
    accounts: AccountService, ada: Person
) -> None:
    eve = accounts.add_person(LOCAL_OPERATOR, "eve", "editor", PASSWORD)
    accounts.record_created(eve, "old")
    accounts.share(eve, "old", None, "write")
    accounts.record_created(ada, "old")  # made anew after a deletion nobody recorded
    assert _access(accounts, "old") == {"owner": ada.id, "shares": {}, "everyone": None}
    accounts.record_created(eve, "notes")
    accounts.rename_kb(eve, "notes", "old")
    assert accounts.access("old").owner == eve.id


def test_what_the_local_operator_creates_belongs_to_the_first_admin(
    accounts: AccountService,
) -> None:
    accounts.record_created(LOCAL_OPERATOR, "early")
    assert accounts.access("early").owner is None  # no admin yet: claimed later
    ada = accounts.add_person(LOCAL_OPERATOR, "ada", "admin", PASSWORD)
    accounts.record_created(LOCAL_OPERATOR, "notes")
    assert accounts.access("notes").owner == ada.id
    assert accounts.claim_unowned(["early", "notes"]) == ["early"]


def _access(accounts: AccountService, kb: str) -> dict[str, object]:
    access = accounts.access(kb)
    return {"owner": access.owner, "shares": dict(access.shares), "everyone": access.everyone}


# Nothing in clear.


def test_no_password_key_or_session_is_kept_or_logged_in_clear(
    accounts: AccountService, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = ["first password 1", "second password 2", "changed password 3", "typed as a name 4"]
    accounts.add_person(LOCAL_OPERATOR, "ada", "admin", secrets[0])
    accounts.add_person(LOCAL_OPERATOR, "bob", "reader", secrets[1])
    accounts.set_password(LOCAL_OPERATOR, "bob", secrets[2])
    keys = [accounts.create_key(LOCAL_OPERATOR, name, 30) for name in ("ada", "bob", "bob")]
    accounts.revoke_key(LOCAL_OPERATOR, keys[2].key_id)
    for new in keys:
        accounts.authenticate_key(new.key)
    token = accounts.sign_in("ada", secrets[0])
    for name, password in (("bob", secrets[0]), (secrets[3], secrets[2])):
        with pytest.raises(SignInFailed):
            accounts.sign_in(name, password)
    accounts.session_person(token)
    for new in keys:
        secrets += [new.key, new.key.split("_", 2)[2]]
    secrets += [token, token.split(".")[0]]
    stored = b"".join(
        file.read_bytes() for file in accounts.store.path.parent.glob("users.sqlite3*")
    )
    assert len(stored) > 4096
    printed = capsys.readouterr()
    said = caplog.text + printed.out + printed.err
    assert "sign-in failed for bob" in said
    for secret in secrets:
        assert secret.encode() not in stored, secret
        assert secret not in said, secret
    assert keys[0].key_id.encode() in stored  # the public id is kept, to list and revoke by
