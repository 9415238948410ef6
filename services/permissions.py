"""Who may do what: one pure function every face asks, `decide(person, action, resource)`.

    decision = decide(person, Action.WRITE, accounts.access("notes"))   # ALLOW / NOT_FOUND / ...
    require(person, Action.READ, accounts.access(kb))                   # or raise the right error

Rules (the tables below):
- admin: everything, on every knowledge base, people and the audit log; not others' conversations.
- editor: creates knowledge bases; writes (upload, remove, re-index) and renames those they own or
  were given write on; deletes and shares only their own.
- reader: asks the knowledge bases shared with them (by name or with everyone), whatever the level.
A knowledge base a person may not read is NOT_FOUND, so its name does not leak; one they may read
but not change is FORBIDDEN. A conversation is its owner's alone: NOT_FOUND for anyone else,
admins included (what people asked is theirs). `decide` reads nothing: the caller hands it the
access record (`AccountService.access`) or the conversation's owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from errors import RagchatError
from history.store import UnknownConversation
from i18n import N_
from index.catalog import KnowledgeBaseNotFoundError
from services.people import KnowledgeBaseAccess, Person, Role, ShareLevel


class Action(StrEnum):
    """What a person asks to do; the first five act on one knowledge base."""

    READ = "read"
    """Ask a knowledge base, list and open its documents and sources (conversations: open)."""
    WRITE = "write"
    """Upload to, remove from, re-index a knowledge base (conversations: continue, rename)."""
    RENAME = "rename"
    DELETE = "delete"
    SHARE = "share"
    """Share a knowledge base with people or everyone, or stop sharing it."""
    CREATE_KB = "create_kb"
    MANAGE_PEOPLE = "manage_people"
    """Add people, change their password or role, disable them, make and revoke their keys."""
    READ_AUDIT = "read_audit"


class Decision(Enum):
    ALLOW = "allow"
    NOT_FOUND = "not_found"
    """Answer as if the thing did not exist: the person may not even know it does."""
    FORBIDDEN = "forbidden"
    """The person may see it, but not do this to it."""


@dataclass(frozen=True)
class ConversationRef:
    """A stored conversation as a decision needs it: its id and its owner's person id."""

    id: int
    owner: int


Resource = KnowledgeBaseAccess | ConversationRef | None
"""What an action is on: a knowledge base, a conversation, or nothing (the global actions)."""


class Forbidden(RagchatError):
    """Allowed to see it, not to do this to it."""

    code = "forbidden"
    http_status = 403


class Relation(Enum):
    """How a person stands to a knowledge base; the best of owner, their share, everyone's."""

    OWNER = "owner"
    WRITER = "writer"
    READER = "reader"
    STRANGER = "stranger"


KB_ACTIONS = frozenset({Action.READ, Action.WRITE, Action.RENAME, Action.DELETE, Action.SHARE})
_EDIT = frozenset({Action.READ, Action.WRITE, Action.RENAME})
_READ = frozenset({Action.READ})
_NONE: frozenset[Action] = frozenset()

KB_TABLE: dict[Role, dict[Relation, frozenset[Action]]] = {
    # Admins look after every knowledge base, shared with them or not.
    Role.ADMIN: dict.fromkeys(Relation, KB_ACTIONS),
    # Editors change what they own or were given write on; only an owner gives it away.
    Role.EDITOR: {
        Relation.OWNER: KB_ACTIONS,
        Relation.WRITER: _EDIT,
        Relation.READER: _READ,
        Relation.STRANGER: _NONE,
    },
    # Readers only ask, even where a share (or a past role) would let them write.
    Role.READER: {
        Relation.OWNER: _READ,
        Relation.WRITER: _READ,
        Relation.READER: _READ,
        Relation.STRANGER: _NONE,
    },
}
"""role -> relation -> the actions allowed on that knowledge base."""

GLOBAL_TABLE: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset({Action.CREATE_KB, Action.MANAGE_PEOPLE, Action.READ_AUDIT}),
    Role.EDITOR: frozenset({Action.CREATE_KB}),
    Role.READER: _NONE,
}
"""role -> the actions on no particular thing it may take. Nothing is hidden here, so a refusal
is FORBIDDEN."""


def decide(person: Person, action: Action, resource: Resource = None) -> Decision:
    """Whether `person` may take `action` on `resource`, from the tables above; no I/O."""
    if isinstance(resource, ConversationRef):
        return Decision.ALLOW if resource.owner == person.id else Decision.NOT_FOUND
    if action in KB_ACTIONS:
        if resource is None:
            raise ValueError(f"{action} needs the knowledge base it is on")
        allowed = KB_TABLE[person.role][relation(person, resource)]
        if action in allowed:
            return Decision.ALLOW
        return Decision.FORBIDDEN if Action.READ in allowed else Decision.NOT_FOUND
    return Decision.ALLOW if action in GLOBAL_TABLE[person.role] else Decision.FORBIDDEN


def relation(person: Person, kb: KnowledgeBaseAccess) -> Relation:
    """The best standing `person` has on `kb`: owner, else the higher of their own share and
    everyone's."""
    if kb.owner == person.id:
        return Relation.OWNER
    levels = {kb.shares.get(person.id), kb.everyone}
    if ShareLevel.WRITE in levels:
        return Relation.WRITER
    return Relation.READER if ShareLevel.READ in levels else Relation.STRANGER


def require(person: Person, action: Action, resource: Resource = None) -> None:
    """Raise unless `decide` allows: a knowledge base or conversation that must look absent
    raises the same error as one that is absent (404), anything else Forbidden (403)."""
    decision = decide(person, action, resource)
    if decision is Decision.ALLOW:
        return
    if isinstance(resource, ConversationRef):
        raise UnknownConversation(N_("there is no conversation {id}"), id=resource.id)
    kb = resource.name if resource is not None else ""
    if decision is Decision.NOT_FOUND:
        raise KnowledgeBaseNotFoundError(N_("no knowledge base named {kb!r}"), kb=kb)
    raise Forbidden(_REFUSALS[action], name=person.name, role=person.role, kb=kb)


_REFUSALS = {
    Action.WRITE: N_(
        "{name} ({role}) may not change the documents of knowledge base {kb!r}: that takes an "
        "editor with write on it"
    ),
    Action.RENAME: N_(
        "{name} ({role}) may not rename knowledge base {kb!r}: that takes an editor with write "
        "on it"
    ),
    Action.DELETE: N_(
        "{name} ({role}) may not delete knowledge base {kb!r}: only its owner or an admin may"
    ),
    Action.SHARE: N_(
        "{name} ({role}) may not share knowledge base {kb!r}: only its owner or an admin may"
    ),
    Action.CREATE_KB: N_(
        "{name} ({role}) may not create knowledge bases: an admin can make you an editor"
    ),
    Action.MANAGE_PEOPLE: N_("{name} ({role}) may not manage people: only admins do"),
    Action.READ_AUDIT: N_("{name} ({role}) may not read the audit log: only admins do"),
}
"""Why a FORBIDDEN action is refused, and what to do about it (READ is never FORBIDDEN: what a
person may not read is NOT_FOUND)."""
