"""Knowledge-base administration as every face offers it: list them with their statistics,
show what one holds, create, rename (its stored conversations follow it) and delete one, share
one, and the `Settings` of each (`index.catalog` keeps them on disk).

Every method takes the `person` who asks (keyword-only; the CLIs' LOCAL_OPERATOR by default)
and checks `services.permissions` through the `Guard` before acting: lists hold only what the
person may read; a knowledge base they may not read is KnowledgeBaseNotFoundError, as if it did
not exist; one they may read but not change is Forbidden."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from config import ChunkingSettings, Settings
from history.store import HistoryError
from i18n import N_
from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog, KnowledgeBaseError, KnowledgeBaseStats
from index.embeddings import EmbedderIdentity
from index.filters import Facets, facets
from index.knowledge_base import KnowledgeBase
from index.manifest import read_manifest
from index.updater import source_path
from index.versions import current_version, index_size
from llms.queue import ModelQueue
from services.conversations import ConversationService
from services.guard import Guard
from services.live import LiveIndexes, commands_for
from services.people import LOCAL_OPERATOR, KnowledgeBaseAccess, Person
from services.permissions import Action, Decision, Forbidden

__all__ = [
    "DEFAULT_KB",
    "IndexContents",
    "IndexedFile",
    "KnowledgeBaseService",
    "KnowledgeBaseStats",
    "OUTCOMES",
    "SHARE_LEVELS",
]

OUTCOMES = {
    "added": N_("added"),
    "updated": N_("updated"),
    "removed": N_("removed"),
    "unchanged": N_("unchanged"),
    "failed": N_("failed"),
}
"""What an ingest did to each file (`IngestReport`), as every face names it: translate with `_`."""
SHARE_LEVELS = {"read": N_("read"), "write": N_("write")}
"""What a share lets its person do, as every face names it: translate with `_`."""


@dataclass(frozen=True)
class IndexedFile:
    source: str
    """Its name in the index: relative to the first documents folder."""
    chunks: int
    size: int
    indexed_at: float


@dataclass(frozen=True)
class IndexContents:
    """What a knowledge base's live index holds, as its manifest records it."""

    version: str
    files: dict[str, IndexedFile]
    """By source, in order."""
    store: dict
    """The store's own description (backend, collection, ...)."""
    updated_at: float
    """Time of the last ingest."""
    size_bytes: int
    """What the index folder takes on disk."""

    @property
    def chunks(self) -> int:
        return sum(f.chunks for f in self.files.values())


class KnowledgeBaseService:
    """The knowledge bases of one configuration. Renaming and deleting wait for the ingests in
    the local model's line, and let go of what the process holds of the knowledge base."""

    def __init__(
        self,
        catalog: KnowledgeBaseCatalog,
        live: LiveIndexes,
        queue: ModelQueue,
        conversations: ConversationService,
        guard: Guard,
    ) -> None:
        self.catalog = catalog
        self.live = live
        self.queue = queue
        self.conversations = conversations
        self.guard = guard

    def names(self, *, person: Person = LOCAL_OPERATOR) -> list[str]:
        """The ones `person` may read: `default` first, then the named ones in alphabetical
        order."""
        return self.guard.readable(person, self.catalog.names())

    def settings_for(self, name: str = DEFAULT_KB, *, person: Person = LOCAL_OPERATOR) -> Settings:
        """The settings of knowledge base `name` (its paths, chunking and embedder), or
        KnowledgeBaseError naming the ones there are."""
        self.guard.require(person, Action.READ, name)
        return self.catalog.settings_for(name)

    def overview(self, *, person: Person = LOCAL_OPERATOR) -> list[KnowledgeBaseStats]:
        """The knowledge bases `person` may read, with their statistics."""
        return [self.catalog.stats(name) for name in self.names(person=person)]

    def stats(self, name: str, *, person: Person = LOCAL_OPERATOR) -> KnowledgeBaseStats:
        """Files, chunks, size, last ingest and embedder; `problem` says why the index cannot
        be read, if it cannot."""
        self.guard.require(person, Action.READ, name)
        return self.catalog.stats(name)

    def contents(
        self, name: str = DEFAULT_KB, *, person: Person = LOCAL_OPERATOR
    ) -> IndexContents | None:
        """The indexed files of `name` (None without an index), or IndexStoreError naming the
        file that cannot be read."""
        self.guard.require(person, Action.READ, name)
        with commands_for(name):
            settings = self.settings_for(name)
            version = current_version(settings.paths.index, settings.store)
            if version is None:
                return None
            manifest = read_manifest(version)
        files = {
            source: IndexedFile(source, record.chunk_count, record.size, record.indexed_at)
            for source, record in sorted(manifest.files.items())
        }
        return IndexContents(
            version.name,
            files,
            dict(manifest.store),
            manifest.updated_at,
            index_size(version.parent),
        )

    def open(self, name: str = DEFAULT_KB, *, person: Person = LOCAL_OPERATOR) -> KnowledgeBase:
        """The live index of `name`, opened as answering opens it (so damage shows wherever it
        is looked at), or IndexStoreError (IndexNotFoundError before the first ingest)."""
        self.guard.require(person, Action.READ, name)
        return self.live.open(name).knowledge_base

    def embedder(
        self, name: str = DEFAULT_KB, *, person: Person = LOCAL_OPERATOR
    ) -> EmbedderIdentity:
        """What embeds `name`'s chunks and questions."""
        self.guard.require(person, Action.READ, name)
        return self.live.embedder_for(name).identity

    def facets(self, name: str = DEFAULT_KB, *, person: Person = LOCAL_OPERATOR) -> Facets:
        """The filter choices `name`'s chunks offer (folders, types, languages, tags, dates)."""
        return facets(self.open(name, person=person).metadatas())

    def document_path(self, name: str, source: str, *, person: Person = LOCAL_OPERATOR) -> Path:
        """The file a source card of `name` cites (`source` as the index names it), for the
        document viewer: only for a person who may read `name`. The file may since have gone."""
        return source_path(source, self.settings_for(name, person=person).paths.documents)

    def access(self, name: str, *, person: Person = LOCAL_OPERATOR) -> KnowledgeBaseAccess:
        """Who owns `name` and whom it is shared with, for a person who may read it."""
        self.guard.require(person, Action.READ, name)
        return self.guard.access(name)

    def allows(self, name: str | None, action: Action, *, person: Person = LOCAL_OPERATOR) -> bool:
        """Whether `person` may take `action` on `name` (None for CREATE_KB and the other
        actions on no knowledge base): for a face deciding which controls to show."""
        return self.guard.decide(person, action, name) is Decision.ALLOW

    def create(
        self,
        name: str,
        folders: list[Path] | None = None,
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
        embedding_backend: str | None = None,
        embedding_model: str | None = None,
        *,
        person: Person = LOCAL_OPERATOR,
    ) -> Settings:
        """A new, empty knowledge base owned by `person`; its documents are `folders` (kept
        where they are) or its own folder. Chunking and embedder are the config's, with these
        changes."""
        self.guard.require(person, Action.CREATE_KB)
        if folders and person != LOCAL_OPERATOR:
            raise Forbidden(
                N_(
                    "{name} may not name folders on the server: a knowledge base made by a "
                    "signed-in person keeps its documents in its own folder"
                ),
                name=person.name,
            )
        settings = self.catalog.settings
        chunking = settings.chunking.model_dump()
        for key, value in (("size", chunk_size), ("overlap", chunk_overlap)):
            if value is not None:
                chunking[key] = value
        try:
            chosen = ChunkingSettings.model_validate(chunking)
        except ValidationError as err:
            problems = "; ".join(
                ".".join(["chunking", *map(str, problem["loc"])]) + f": {problem['msg']}"
                for problem in err.errors()
            )
            raise KnowledgeBaseError(
                N_("{name!r}: these chunking settings cannot be used: {problems}"),
                name=name,
                problems=problems,
            ) from None
        changes = {"backend": embedding_backend, "model": embedding_model}
        embedding = settings.embedding.model_copy(
            update={key: value for key, value in changes.items() if value is not None}
        )
        created = self.catalog.create(name, folders, chosen, embedding)
        self.guard.created(person, name)
        return created

    def rename(self, old: str, new: str, *, person: Person = LOCAL_OPERATOR) -> None:
        """Rename a knowledge base, waiting for the ingests in line; its owner, shares and
        stored conversations follow it."""
        self.guard.require(person, Action.RENAME, old)
        with self.queue.seat(person.name), self.live.lock:
            self.catalog.rename(old, new)
            self.live.release(old)
        self.guard.renamed(person, old, new)
        # A damaged history file is reported where history is shown; the rename is done.
        with contextlib.suppress(HistoryError):
            self.conversations.rename_kb(old, new)

    def delete(self, name: str, *, person: Person = LOCAL_OPERATOR) -> None:
        """Delete a knowledge base with its index and own documents folder, waiting for the
        ingests in line; its owner and shares are forgotten."""
        self.guard.require(person, Action.DELETE, name)
        with self.queue.seat(person.name), self.live.lock:
            self.catalog.delete(name)
            self.live.release(name)
        self.guard.deleted(person, name)

    def share(
        self, name: str, with_name: str | None, level: str, *, person: Person = LOCAL_OPERATOR
    ) -> None:
        """Share knowledge base `name` with the person called `with_name` (None: everyone
        signed in) to `read` or `write`; sharing again changes the level. Audited."""
        self._sharable(name, person)
        self.guard.accounts.share(person, name, with_name, level)

    def unshare(self, name: str, with_name: str | None, *, person: Person = LOCAL_OPERATOR) -> None:
        """Stop sharing `name` with `with_name` (None: everyone); audited when it was shared."""
        self._sharable(name, person)
        self.guard.accounts.unshare(person, name, with_name)

    def _sharable(self, name: str, person: Person) -> None:
        self.guard.require(person, Action.SHARE, name)
        if not self.catalog.exists(name):
            raise self.catalog.unknown(name)
