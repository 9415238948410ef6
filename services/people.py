"""People: who they are, how they prove it, what they own and were given, and what they did.

    accounts = AccountService(AccountStore(settings.paths.users), settings.auth)
    token = accounts.sign_in("ada", password)        # the app: a signed session token
    person = accounts.session_person(token)          # on every page run; None: sign in again
    person = accounts.authenticate_key(bearer)       # the API: None answers 401
    permissions.require(person, Action.SHARE, accounts.access("notes"))
    accounts.share(person, "notes", "bob", "read")   # recorded, and audited

`AccountService` keeps the records and proves identities; it does not decide who may do what:
a face (or the service it calls) asks `services.permissions.require` first, so that decision
lives in one place. Methods that change something take the `actor` who did it, for the audit log.
Secrets never leave this module in clear except a new API key, returned once to be shown.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NoReturn, TypeVar

from accounts.keys import (
    digest,
    issue_api_key,
    matches,
    new_session_token,
    session_id_of,
    split_api_key,
)
from accounts.passwords import hash_password, needs_rehash, verify_password
from accounts.store import EVERYONE, AccountStore, AuditRow, PersonRow, SessionRow
from config import AuthSettings
from errors import RagchatError
from i18n import N_
from index.catalog import DEFAULT_KB

log = logging.getLogger(__name__)

MIN_PASSWORD_CHARS = 8
_NAME = re.compile(r"[\w.@-]{1,64}")
"""Letters (any script), digits, `_`, `.`, `@`, `-`: a name fits a command line and a log line."""
FIRST_FAILURE_DELAY_S = 0.25
MAX_FAILURE_DELAY_S = 4.0
"""A failed sign-in waits FIRST_FAILURE_DELAY_S, doubled with each failure in a row, up to this."""
KEY_USE_RECORDED_EVERY_S = 60.0
"""A key's last-used time is written at most this often: a write per request would cost more
than the check itself."""
UNKNOWN_NAME = "(unknown name)"
"""What the audit log says for a sign-in under a name nobody has: the name typed is not kept, as
it is sometimes a password typed into the wrong box."""


class Role(StrEnum):
    """What a person may do in general; `services.permissions` has the table."""

    ADMIN = "admin"
    EDITOR = "editor"
    READER = "reader"


ROLE_NAMES = {Role.ADMIN: N_("admin"), Role.EDITOR: N_("editor"), Role.READER: N_("reader")}
"""Each role as the faces name it to people: translate with `i18n._`."""


class ShareLevel(StrEnum):
    """What a share gives on one knowledge base."""

    READ = "read"
    WRITE = "write"


class Audited(StrEnum):
    """The actions the audit log records."""

    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_LOCKED = "sign_in_locked"
    SIGN_OUT = "sign_out"
    PERSON_ADD = "person_add"
    PERSON_PASSWORD = "person_password"
    PERSON_ROLE = "person_role"
    PERSON_DISABLE = "person_disable"
    PERSON_ENABLE = "person_enable"
    KEY_CREATE = "key_create"
    KEY_REVOKE = "key_revoke"
    KB_CREATE = "kb_create"
    KB_CLAIM = "kb_claim"
    KB_RENAME = "kb_rename"
    KB_DELETE = "kb_delete"
    KB_SHARE = "kb_share"
    KB_UNSHARE = "kb_unshare"
    FILE_UPLOAD = "file_upload"
    FILE_REMOVE = "file_remove"


@dataclass(frozen=True)
class Person:
    """Someone signed in (or the local operator): what every permission decision is about."""

    id: int
    name: str
    role: Role


LOCAL_OPERATOR = Person(0, "local operator", Role.ADMIN)
"""Who the CLIs act as: a shell user already owns the files, so asking them to sign in would
protect nothing. Id 0 is nobody's in the accounts file."""


@dataclass(frozen=True)
class KnowledgeBaseAccess:
    """Who owns a knowledge base and whom it is shared with: what a decision about it needs."""

    name: str
    owner: int | None
    """The owner's person id; None until `claim_unowned` gives it to the first admin."""
    shares: Mapping[int, ShareLevel] = field(default_factory=dict)
    """Person id -> level, for the people it is shared with by name."""
    everyone: ShareLevel | None = None
    """The level it is shared at with everyone signed in, if it is."""


@dataclass(frozen=True)
class Account:
    """A person as an admin sees them in a list."""

    person: Person
    disabled: bool
    created_at: float


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as listed: never its secret."""

    key_id: str
    owner: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None
    state: str
    """`active`, `revoked` or `expired` when it was listed."""


@dataclass(frozen=True)
class NewApiKey:
    """A key just made: `key` is shown once and cannot be shown again."""

    key_id: str
    owner: str
    key: str
    expires_at: float | None


class AccountError(RagchatError):
    """A name, password, role, share level or expiry that is not allowed."""

    code = "invalid_account"


class UnknownPerson(AccountError):
    code = "person_not_found"
    http_status = 404


class UnknownApiKey(AccountError):
    code = "api_key_not_found"
    http_status = 404


class SignInFailed(RagchatError):
    """Wrong name or password; the message never says which."""

    code = "sign_in_failed"
    http_status = 401


class AccountLocked(SignInFailed):
    """Too many failed sign-ins in a row under this name: wait, then try again."""

    code = "account_locked"
    http_status = 429


class InvalidApiKey(RagchatError):
    """What a face raises when `authenticate_key` gives None."""

    code = "invalid_api_key"
    http_status = 401


class AccountService:
    """Accounts, keys, sessions, knowledge-base shares and the audit log over one AccountStore.

    `clock` and `sleep` are the time source and the delay after a failed sign-in (tests pass
    their own); nothing else is kept between calls, so one service serves every thread."""

    def __init__(
        self,
        store: AccountStore,
        settings: AuthSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        _unknown_name_hash()  # made now, so that no sign-in pays for it

    # People.

    def add_person(self, actor: Person, name: str, role: str, password: str) -> Person:
        """A new person with a role and a password (stored as its argon2 hash)."""
        role = _parse(Role, role, "role")
        if not _NAME.fullmatch(name):
            raise AccountError(
                N_("{name!r} cannot be a name: use 1-64 letters, digits, '_', '.', '@' or '-'"),
                name=name,
            )
        person_id = self.store.add_person(name, role, _password_hash(password), self._clock())
        self.audit(actor, Audited.PERSON_ADD, name, f"role {role}")
        return Person(person_id, name, role)

    def accounts(self) -> list[Account]:
        """Everyone, in the order they were added."""
        return [Account(_person(row), row.disabled, row.created_at) for row in self.store.people()]

    def person(self, name: str) -> Person:
        """The person with this name (disabled or not), or UnknownPerson."""
        return _person(self._row(name))

    def set_password(self, actor: Person, name: str, password: str) -> None:
        self._update(name, password_hash=_password_hash(password))
        self.audit(actor, Audited.PERSON_PASSWORD, name)

    def set_role(self, actor: Person, name: str, role: str) -> None:
        role = _parse(Role, role, "role")
        before = self._row(name).role
        self._update(name, role=role)
        self.audit(actor, Audited.PERSON_ROLE, name, f"{before} -> {role}")

    def set_disabled(self, actor: Person, name: str, disabled: bool = True) -> None:
        """A disabled person can no longer sign in, and their sessions and keys stop working
        at once; enabling them again brings back the keys that are not revoked or expired."""
        self._update(name, disabled=disabled)
        self.audit(actor, Audited.PERSON_DISABLE if disabled else Audited.PERSON_ENABLE, name)

    # API keys.

    def language(self, person: Person) -> str | None:
        """The interface language `person` picked in the app (None: they have not)."""
        return self.store.language(person.id)

    def set_language(self, person: Person, language: str) -> None:
        """Remember `person`'s interface language (a preference: not audited)."""
        self.store.set_language(person.id, language)

    def create_key(self, actor: Person, name: str, expires_days: float | None = None) -> NewApiKey:
        """A new key for `name`, valid for `expires_days` (None: until revoked)."""
        if expires_days is not None and not expires_days > 0:
            raise AccountError(
                N_("a key must expire in more than 0 days, not {days}"), days=expires_days
            )
        owner = self._row(name)
        now = self._clock()
        expires_at = None if expires_days is None else now + expires_days * 86400
        issued = issue_api_key()
        self.store.add_key(issued.key_id, owner.id, issued.secret_digest, now, expires_at)
        until = "never expires" if expires_at is None else f"expires in {expires_days:g} days"
        self.audit(actor, Audited.KEY_CREATE, name, f"key {issued.key_id}, {until}")
        return NewApiKey(issued.key_id, name, issued.raw, expires_at)

    def keys(self, name: str | None = None) -> list[ApiKeyInfo]:
        """Everyone's keys, or one person's, oldest first."""
        names = {row.id: row.name for row in self.store.people()}
        rows = self.store.keys(None if name is None else self._row(name).id)
        now = self._clock()
        return [
            ApiKeyInfo(
                row.key_id,
                names[row.person_id],
                row.created_at,
                row.expires_at,
                row.last_used_at,
                row.revoked_at,
                row.state(now),
            )
            for row in rows
        ]

    def revoke_key(self, actor: Person, key_id: str) -> None:
        row = self.store.key(key_id)
        if row is None or not self.store.revoke_key(key_id, self._clock()):
            raise UnknownApiKey(
                N_("there is no API key {key!r} (see `python users.py keys`)"), key=key_id
            )
        owner = self.store.person_by_id(row.person_id)
        self.audit(actor, Audited.KEY_REVOKE, owner.name if owner else "?", f"key {key_id}")

    def authenticate_key(self, raw: str) -> Person | None:
        """Whose key this is, or None: malformed, unknown, wrong secret, revoked, expired, or
        its holder disabled. One query and a SHA-256; the use is recorded at most once a
        minute."""
        parts = split_api_key(raw)
        if parts is None:
            return None
        key_id, secret = parts
        found = self.store.key_and_holder(key_id)
        if found is None:
            return None
        key, holder = found
        now = self._clock()
        if not matches(secret, key.secret_digest) or key.state(now) != "active" or holder.disabled:
            return None
        if key.last_used_at is None or now - key.last_used_at >= KEY_USE_RECORDED_EVERY_S:
            self.store.touch_key(key_id, now)
        return _person(holder)

    # Signing in.

    def sign_in(self, name: str, password: str) -> str:
        """A signed session token for `name`, or SignInFailed / AccountLocked.

        Each failure in a row waits longer (FIRST_FAILURE_DELAY_S, doubled, capped), and
        `max_failed_sign_ins` of them lock the name for `lockout_minutes`: a locked name is
        refused without looking at the password. Failures are counted per name as typed, and
        a name nobody has is checked against a stand-in hash, so neither the message, nor the
        time taken, nor the lockout tells whether a name exists. Every attempt is audited."""
        now = self._clock()
        name_key = digest(name)
        row = self.store.person(name)
        who = name if row else UNKNOWN_NAME
        state = self.store.failures(name_key)
        if state.locked_until > now:
            self._record(who, Audited.SIGN_IN_LOCKED, who, "refused while locked")
            raise _locked(state.locked_until - now)
        stored = row.password_hash if row else _unknown_name_hash()
        if not verify_password(stored, password) or row is None:
            self._failed(name_key, who, now)
        if row.disabled:
            self._record(who, Audited.SIGN_IN_FAILED, who, "account disabled")
            raise SignInFailed(N_("the account {name!r} is disabled; ask an admin"), name=name)
        self.store.clear_failures(name_key)
        if needs_rehash(row.password_hash):
            self.store.update_person(name, password_hash=hash_password(password))
        session_id, token = new_session_token(self.store.server_secret)
        expires_at = now + self.settings.session_hours * 3600
        self.store.add_session(digest(session_id), row.id, now, expires_at)
        self._record(name, Audited.SIGN_IN, name)
        log.info("%s signed in", name)
        return token

    def session_person(self, token: str) -> Person | None:
        """Who a session token belongs to, or None: forged, unknown, signed out, expired, or
        its person disabled since."""
        session = self._session(token)
        if session is None:
            return None
        row, _ = session
        if row.ended_at is not None or row.expires_at <= self._clock():
            return None
        return self._active(row.person_id)

    def sign_out(self, token: str) -> None:
        """End a session (server-side: the token stops working even if kept)."""
        session = self._session(token)
        if session is None:
            return
        row, session_digest = session
        if self.store.end_session(session_digest, self._clock()):
            person = self.store.person_by_id(row.person_id)
            name = person.name if person else "?"
            self._record(name, Audited.SIGN_OUT, name)

    # Knowledge bases: owners and shares.

    def access(self, kb: str) -> KnowledgeBaseAccess:
        """Who owns `kb` and whom it is shared with, for `permissions.decide`."""
        return self.accesses([kb])[kb]

    def accesses(self, kbs: Iterable[str]) -> dict[str, KnowledgeBaseAccess]:
        """`access` of each of `kbs`, read in one query."""
        records = {}
        for kb, (owner, levels) in self.store.kb_records(list(kbs)).items():
            shares = {person_id: ShareLevel(level) for person_id, level in levels.items()}
            everyone = shares.pop(EVERYONE, None)
            records[kb] = KnowledgeBaseAccess(kb, owner, shares, everyone)
        return records

    def first_admin(self) -> Person | None:
        """The earliest added admin: what was made before people, or by the local operator,
        is theirs."""
        row = self.store.first_with_role(Role.ADMIN)
        return None if row is None else _person(row)

    def record_created(self, actor: Person, kb: str) -> None:
        """`actor` created `kb` and owns it; made by the local operator, it belongs to the first
        admin (or to nobody until `claim_unowned`, while there is no admin)."""
        owner = self.store.first_with_role(Role.ADMIN) if actor == LOCAL_OPERATOR else actor
        if owner is not None:
            self.store.set_kb_owner(kb, owner.id)
        self.audit(actor, Audited.KB_CREATE, kb, f"owner {owner.name if owner else 'nobody'}")

    def claim_unowned(self, kbs: Iterable[str]) -> list[str]:
        """Give the knowledge bases without an owner to the first admin, `default` shared with
        everyone to read: an install from before accounts keeps working. The ones claimed."""
        admin = self.store.first_with_role(Role.ADMIN)
        if admin is None:
            return []
        claimed = self.store.claim_kbs(list(kbs), admin.id, {DEFAULT_KB: ShareLevel.READ})
        for kb in claimed:
            self.audit(LOCAL_OPERATOR, Audited.KB_CLAIM, kb, f"owner {admin.name}")
        return claimed

    def share(self, actor: Person, kb: str, name: str | None, level: str) -> None:
        """Share `kb` with the person `name` (None: everyone signed in) to read or write;
        sharing again changes the level."""
        level = _parse(ShareLevel, level, "share level")
        if self.store.kb_owner(kb) is None:
            raise AccountError(
                N_(
                    "knowledge base {kb!r} has no owner yet: add an admin first "
                    "(python users.py add NAME --role admin)"
                ),
                kb=kb,
            )
        self.store.set_share(kb, self._grantee(name), level)
        self.audit(actor, Audited.KB_SHARE, kb, f"{name or 'everyone'}: {level}")

    def unshare(self, actor: Person, kb: str, name: str | None) -> None:
        """Stop sharing `kb` with `name` (None: everyone); nothing to do when it was not."""
        if self.store.remove_share(kb, self._grantee(name)):
            self.audit(actor, Audited.KB_UNSHARE, kb, name or "everyone")

    def rename_kb(self, actor: Person, old: str, new: str) -> None:
        """`new` gets `old`'s owner and shares (one transaction)."""
        self.store.rename_kb(old, new)
        self.audit(actor, Audited.KB_RENAME, old, f"-> {new}")

    def forget_kb(self, actor: Person, kb: str) -> None:
        """`kb` was deleted: drop its owner and shares."""
        self.store.forget_kb(kb)
        self.audit(actor, Audited.KB_DELETE, kb)

    # The audit log.

    def audit(self, actor: Person, action: str, target: str, detail: str = "") -> None:
        """Append to the audit log (never a secret in `detail`)."""
        self._record(actor.name, action, target, detail)

    def audit_log(self, limit: int = 100) -> list[AuditRow]:
        """The latest `limit` entries, newest first."""
        return self.store.audit(limit)

    # Helpers.

    def _row(self, name: str) -> PersonRow:
        row = self.store.person(name)
        if row is None:
            raise _unknown_person(name)
        return row

    def _update(self, name: str, **columns: str | bool) -> None:
        if not self.store.update_person(name, **columns):
            raise _unknown_person(name)

    def _grantee(self, name: str | None) -> int:
        return EVERYONE if name is None else self._row(name).id

    def _active(self, person_id: int) -> Person | None:
        row = self.store.person_by_id(person_id)
        return None if row is None or row.disabled else _person(row)

    def _session(self, token: str) -> tuple[SessionRow, str] | None:
        session_id = session_id_of(token, self.store.server_secret)
        if session_id is None:
            return None
        session_digest = digest(session_id)
        row = self.store.session(session_digest)
        return None if row is None else (row, session_digest)

    def _failed(self, name_key: str, who: str, now: float) -> NoReturn:
        """Count a failed sign-in, lock the name after too many, wait, and refuse."""
        failures = self.store.add_failure(name_key, now)
        self._record(who, Audited.SIGN_IN_FAILED, who, f"{failures} in a row")
        log.warning("sign-in failed for %s (%d in a row)", who, failures)
        self._sleep(min(FIRST_FAILURE_DELAY_S * 2 ** (failures - 1), MAX_FAILURE_DELAY_S))
        if failures >= self.settings.max_failed_sign_ins:
            lock_s = self.settings.lockout_minutes * 60
            self.store.lock(name_key, now + lock_s)
            self._record(who, Audited.SIGN_IN_LOCKED, who, f"locked after {failures} failures")
            log.warning("sign-in locked for %s after %d failures", who, failures)
            raise _locked(lock_s)
        raise SignInFailed(N_("wrong name or password"))

    def _record(self, actor: str, action: str, target: str, detail: str = "") -> None:
        self.store.append_audit(self._clock(), actor, str(action), target, detail)


def _person(row: PersonRow) -> Person:
    return Person(row.id, row.name, Role(row.role))


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(
            N_("a password needs at least {count} characters"), count=MIN_PASSWORD_CHARS
        )
    return hash_password(password)


@functools.cache
def _unknown_name_hash() -> str:
    """A hash no password matches, checked for names nobody has, so they take as long."""
    return hash_password(secrets.token_urlsafe(32))


def _unknown_person(name: str) -> UnknownPerson:
    return UnknownPerson(
        N_("there is nobody named {name!r} (see `python users.py list`)"), name=name
    )


def _locked(seconds: float) -> AccountLocked:
    minutes = max(1, round(seconds / 60))
    return AccountLocked(
        N_("too many failed sign-ins under this name: try again in {minutes} minutes"),
        minutes=minutes,
    )


_Enum = TypeVar("_Enum", bound=StrEnum)


def _parse(kind: type[_Enum], value: str, what: str) -> _Enum:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise AccountError(
            N_("{value!r} is not a {what}; use one of: {allowed}"),
            value=value,
            what=what,
            allowed=allowed,
        ) from None
