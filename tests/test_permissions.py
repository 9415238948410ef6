"""The permission decision: every role x knowledge-base action x standing, written out here by
hand (not derived from the module's tables), the global actions, conversations, and the errors
`require` raises. `decide` is pure, so these need no files, except the last test, which feeds it
records made by AccountService."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.store import AccountStore
from config import AuthSettings
from history.store import UnknownConversation
from index.catalog import KnowledgeBaseNotFoundError
from services.people import (
    LOCAL_OPERATOR,
    AccountService,
    KnowledgeBaseAccess,
    Person,
    Role,
    ShareLevel,
)
from services.permissions import (
    KB_ACTIONS,
    Action,
    ConversationRef,
    Decision,
    Forbidden,
    decide,
    require,
)

A, N, F = Decision.ALLOW, Decision.NOT_FOUND, Decision.FORBIDDEN
ME, OWNER, OTHER = 7, 99, 42
COLUMNS = (Action.READ, Action.WRITE, Action.RENAME, Action.DELETE, Action.SHARE)
STANDINGS = {
    "owner": KnowledgeBaseAccess("kb", owner=ME),
    "shared read": KnowledgeBaseAccess("kb", owner=OWNER, shares={ME: ShareLevel.READ}),
    "shared write": KnowledgeBaseAccess("kb", owner=OWNER, shares={ME: ShareLevel.WRITE}),
    "everyone read": KnowledgeBaseAccess("kb", owner=OWNER, everyone=ShareLevel.READ),
    "everyone write": KnowledgeBaseAccess("kb", owner=OWNER, everyone=ShareLevel.WRITE),
    "not shared": KnowledgeBaseAccess("kb", owner=OWNER, shares={OTHER: ShareLevel.WRITE}),
    "unowned": KnowledgeBaseAccess("kb", owner=None),
}
# Columns: read, write, rename, delete, share.
TABLE = {
    Role.ADMIN: {
        "owner": (A, A, A, A, A),
        "shared read": (A, A, A, A, A),
        "shared write": (A, A, A, A, A),
        "everyone read": (A, A, A, A, A),
        "everyone write": (A, A, A, A, A),
        "not shared": (A, A, A, A, A),
        "unowned": (A, A, A, A, A),
    },
    Role.EDITOR: {
        "owner": (A, A, A, A, A),
        "shared read": (A, F, F, F, F),
        "shared write": (A, A, A, F, F),
        "everyone read": (A, F, F, F, F),
        "everyone write": (A, A, A, F, F),
        "not shared": (N, N, N, N, N),
        "unowned": (N, N, N, N, N),
    },
    Role.READER: {
        "owner": (A, F, F, F, F),
        "shared read": (A, F, F, F, F),
        "shared write": (A, F, F, F, F),
        "everyone read": (A, F, F, F, F),
        "everyone write": (A, F, F, F, F),
        "not shared": (N, N, N, N, N),
        "unowned": (N, N, N, N, N),
    },
}
CASES = [
    (role, standing, action, expected)
    for role, rows in TABLE.items()
    for standing, decisions in rows.items()
    for action, expected in zip(COLUMNS, decisions, strict=True)
]


def test_the_table_covers_every_role_action_and_standing() -> None:
    assert set(TABLE) == set(Role) and set(COLUMNS) == KB_ACTIONS
    assert all(set(rows) == set(STANDINGS) for rows in TABLE.values())


@pytest.mark.parametrize(("role", "standing", "action", "expected"), CASES)
def test_knowledge_base_decisions(
    role: Role, standing: str, action: Action, expected: Decision
) -> None:
    assert decide(Person(ME, "me", role), action, STANDINGS[standing]) is expected


def test_the_best_of_a_persons_share_and_everyones_counts() -> None:
    kb = KnowledgeBaseAccess(
        "kb", owner=OWNER, shares={ME: ShareLevel.READ}, everyone=ShareLevel.WRITE
    )
    assert decide(Person(ME, "me", Role.EDITOR), Action.WRITE, kb) is A
    kb = KnowledgeBaseAccess(
        "kb", owner=OWNER, shares={ME: ShareLevel.WRITE}, everyone=ShareLevel.READ
    )
    assert decide(Person(ME, "me", Role.EDITOR), Action.RENAME, kb) is A


@pytest.mark.parametrize(
    ("role", "create_kb", "manage_people", "read_audit"),
    [(Role.ADMIN, A, A, A), (Role.EDITOR, A, F, F), (Role.READER, F, F, F)],
)
def test_global_decisions(
    role: Role, create_kb: Decision, manage_people: Decision, read_audit: Decision
) -> None:
    person = Person(ME, "me", role)
    assert decide(person, Action.CREATE_KB) is create_kb
    assert decide(person, Action.MANAGE_PEOPLE) is manage_people
    assert decide(person, Action.READ_AUDIT) is read_audit


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", [Action.READ, Action.WRITE, Action.RENAME, Action.DELETE])
def test_a_conversation_is_its_owners_alone_admins_included(role: Role, action: Action) -> None:
    person = Person(ME, "me", role)
    assert decide(person, action, ConversationRef(1, owner=ME)) is A
    assert decide(person, action, ConversationRef(1, owner=OTHER)) is N


def test_the_local_operator_is_an_admin_with_conversations_of_its_own() -> None:
    assert decide(LOCAL_OPERATOR, Action.DELETE, STANDINGS["not shared"]) is A
    assert decide(LOCAL_OPERATOR, Action.MANAGE_PEOPLE) is A
    assert decide(LOCAL_OPERATOR, Action.READ, ConversationRef(1, owner=0)) is A
    assert decide(LOCAL_OPERATOR, Action.READ, ConversationRef(1, owner=OTHER)) is N


def test_a_knowledge_base_action_needs_its_knowledge_base() -> None:
    with pytest.raises(ValueError, match="needs the knowledge base"):
        decide(Person(ME, "me", Role.ADMIN), Action.WRITE)


def test_require_raises_what_an_absent_thing_raises_or_forbidden() -> None:
    reader = Person(ME, "rita", Role.READER)
    require(reader, Action.READ, STANDINGS["shared read"])  # allowed: nothing raised
    with pytest.raises(KnowledgeBaseNotFoundError) as hidden:
        require(reader, Action.READ, KnowledgeBaseAccess("secret plans", owner=OWNER))
    assert hidden.value.code == "knowledge_base_not_found" and hidden.value.http_status == 404
    assert str(hidden.value) == "no knowledge base named 'secret plans'"
    with pytest.raises(Forbidden, match="rita \\(reader\\) may not change the documents") as no:
        require(reader, Action.WRITE, STANDINGS["shared write"])
    assert no.value.code == "forbidden" and no.value.http_status == 403
    with pytest.raises(Forbidden, match="may not manage people: only admins do"):
        require(reader, Action.MANAGE_PEOPLE)
    with pytest.raises(UnknownConversation, match="there is no conversation 5") as theirs:
        require(Person(1, "ada", Role.ADMIN), Action.READ, ConversationRef(5, owner=OTHER))
    assert theirs.value.http_status == 404


def test_decisions_on_the_records_accounts_keep(tmp_path: Path) -> None:
    accounts = AccountService(AccountStore(tmp_path / "users.sqlite3"), AuthSettings())
    store = accounts.store
    ada, eve, rita, bob = (
        Person(store.add_person(name, role, "unused hash", 0.0), name, Role(role))
        for name, role in (
            ("ada", "admin"),
            ("eve", "editor"),
            ("rita", "reader"),
            ("bob", "reader"),
        )
    )
    accounts.claim_unowned(["default"])
    accounts.record_created(eve, "notes")
    accounts.share(eve, "notes", "rita", "read")
    for person in (ada, eve, rita, bob):
        assert decide(person, Action.READ, accounts.access("default")) is A
    assert decide(rita, Action.READ, accounts.access("notes")) is A
    assert decide(bob, Action.READ, accounts.access("notes")) is N
    assert decide(eve, Action.WRITE, accounts.access("default")) is F
    assert decide(ada, Action.SHARE, accounts.access("notes")) is A
