"""The stored conversations (`history.store`) as every face uses them: list, open (with notes on
source cards whose documents have changed since), save a turn, rename, export, delete, and
follow a renamed knowledge base.

A conversation is its owner's alone: every method takes the `person` who asks (keyword-only;
the CLIs' LOCAL_OPERATOR by default), lists only their conversations, and answers one of
someone else's as if it did not exist (UnknownConversation), admins included. A conversation
stored before people (no owner), or by the local operator, is the first admin's; before there
is an admin, the local operator's.

A stored answer's cards keep the chunk ids and offsets they cited. Chunk ids are made from the
file, the chunk's position and its text's hash, so a chunk id that is no longer among its file's
ids means the passage is not in the index as it was when the answer was given.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from errors import RagchatError
from history.store import (
    Conversation,
    HistoryError,
    HistoryStore,
    Turn,
    UnknownConversation,
)
from i18n import N_
from index.catalog import KnowledgeBaseCatalog, KnowledgeBaseError
from index.errors import IndexStoreError
from index.manifest import Manifest, read_manifest
from index.versions import current_version
from services.guard import Guard
from services.people import LOCAL_OPERATOR, Person
from services.permissions import Action, ConversationRef, Decision, require

GONE = N_("the document is no longer in the knowledge base")
CHANGED = N_("the document has changed since this answer")
"""A stored card's note (`source_note`): English message ids, shown translated (`i18n._`)."""


@dataclass(frozen=True)
class OpenedConversation:
    """A stored conversation as the chat shows it again."""

    conversation: Conversation
    """With its turns; their source cards carry a `note` where `source_note` has one."""
    kb_exists: bool
    """Its knowledge base still exists (under that name), and the person may read it."""
    unchecked: RagchatError | None = None
    """Why its cards could not be checked against the knowledge base (then they have no notes)."""


class ConversationService:
    """The conversations in the history file `path`, about the knowledge bases of `catalog`;
    `guard` knows who the first admin is and who may read a knowledge base."""

    def __init__(self, path: Path, catalog: KnowledgeBaseCatalog, guard: Guard) -> None:
        self.path = path
        self.catalog = catalog
        self.guard = guard
        self._lock = threading.Lock()
        self._store: HistoryStore | None = None

    def unavailable(self) -> HistoryError | None:
        """Why the history file cannot be used (None when it can): history is then off, and
        chat goes on without it."""
        try:
            self._history()
        except HistoryError as err:
            return err
        return None

    def list(self, *, person: Person = LOCAL_OPERATOR) -> list[Conversation]:
        """The person's conversations without their turns, the most recently continued first."""
        me = self._owners(person)
        return self._history().list(owned_by=me.listed)

    def open(self, conversation: int, *, person: Person = LOCAL_OPERATOR) -> OpenedConversation:
        """One of the person's conversations with its turns, its cards checked against its
        knowledge base as it is now, or UnknownConversation."""
        stored = self._history().get(conversation)
        self._require(person, Action.READ, stored.id, stored.owner)
        kb_exists = self.catalog.exists(stored.kb) and self._readable(person, stored.kb)
        try:
            manifest = self._manifest(stored.kb) if kb_exists else None
        except (IndexStoreError, KnowledgeBaseError) as err:
            return OpenedConversation(stored, kb_exists, err)
        return OpenedConversation(
            replace(stored, turns=with_notes(stored.turns, manifest)), kb_exists
        )

    def save_turn(
        self,
        conversation: int | None,
        turns: Sequence[Turn],
        kb: str,
        profile: str,
        *,
        person: Person = LOCAL_OPERATOR,
    ) -> int:
        """Store the last of `turns`, just answered: appended to the person's `conversation`,
        or, when there is none (or it was deleted meanwhile, from another tab: then all of
        `turns`), as a new conversation of theirs about `kb` and `profile`. Returns the
        conversation it is stored in."""
        history = self._history()
        if conversation is not None:
            try:
                self._require(person, Action.WRITE, conversation, history.owner(conversation))
                history.append_turn(conversation, turns[-1])
                return conversation
            except UnknownConversation:
                pass
        owner = self._owners(person).stored
        return history.create(turns[0]["question"], kb, profile, turns, owner=owner)

    def rename(self, conversation: int, title: str, *, person: Person = LOCAL_OPERATOR) -> str:
        """Give one of the person's conversations a new title; the title as stored."""
        history = self._history()
        self._require(person, Action.WRITE, conversation, history.owner(conversation))
        return history.rename(conversation, title)

    def delete(self, conversation: int, *, person: Person = LOCAL_OPERATOR) -> bool:
        """Remove one of the person's conversations; False when there is none (gone already,
        or never theirs)."""
        history = self._history()
        try:
            self._require(person, Action.WRITE, conversation, history.owner(conversation))
        except UnknownConversation:
            return False
        return history.delete(conversation)

    def export(self, conversation: int, *, person: Person = LOCAL_OPERATOR) -> str:
        """One of the person's conversations as a Markdown file."""
        history = self._history()
        self._require(person, Action.READ, conversation, history.owner(conversation))
        return history.export_markdown(conversation)

    def rename_kb(self, old: str, new: str) -> int:
        """The conversations of knowledge base `old` follow it to its new name; how many did.
        Without a history file there are none (no file is created for that)."""
        if not self.path.exists():
            return 0
        return self._history().rename_kb(old, new)

    def _owners(self, person: Person) -> _Owners:
        """Who `person` is to the history file (see module)."""
        admin = self.guard.first_admin()
        install = admin.id if admin is not None else LOCAL_OPERATOR.id
        me = install if person == LOCAL_OPERATOR else person.id
        return _Owners(install, me)

    def _require(
        self, person: Person, action: Action, conversation: int, owner: int | None
    ) -> None:
        """UnknownConversation unless the conversation (whose stored owner is `owner`) is the
        person's."""
        me = self._owners(person)
        owner = me.install if owner is None else owner
        require(replace(person, id=me.id), action, ConversationRef(conversation, owner))

    def _readable(self, person: Person, kb: str) -> bool:
        return self.guard.decide(person, Action.READ, kb) is Decision.ALLOW

    def _history(self) -> HistoryStore:
        """The store, opened once it can be: a file that cannot be used raises HistoryError and
        is tried again on the next call."""
        with self._lock:
            if self._store is None:
                self._store = HistoryStore(self.path)
            return self._store

    def _manifest(self, kb: str) -> Manifest | None:
        """What the knowledge base's live index holds now (None without an index)."""
        settings = self.catalog.settings_for(kb)
        version = current_version(settings.paths.index, settings.store)
        return read_manifest(version) if version is not None else None


@dataclass(frozen=True)
class _Owners:
    """A person as the history file knows them."""

    install: int
    """Who owns the conversations without an owner: the first admin, else the local operator."""
    id: int
    """The person's id; the local operator stands for the first admin."""

    @property
    def stored(self) -> int | None:
        """What a new conversation of theirs stores as its owner (None: the install's)."""
        return self.id or None

    @property
    def listed(self) -> set[int | None]:
        """The stored owners of their conversations."""
        return {self.id, None} if self.id == self.install else {self.id}


def source_note(source: Mapping[str, Any], manifest: Manifest | None) -> str:
    """Why a stored card may no longer match its document ("" when its chunk is still indexed).
    `manifest` is None when the knowledge base has no index (or no longer exists)."""
    record = manifest.files.get(source["source"]) if manifest is not None else None
    if record is None:
        return GONE
    if source["id"] not in record.chunk_ids:
        return CHANGED
    return ""


def with_notes(turns: Sequence[Turn], manifest: Manifest | None) -> list[Turn]:
    """Copies of stored turns whose source cards carry a `note` where `source_note` has one."""
    noted = []
    for turn in turns:
        sources = [{**s, "note": source_note(s, manifest)} for s in turn["sources"]]
        noted.append(Turn(**{**turn, "sources": sources}))
    return noted
