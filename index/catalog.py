"""Named knowledge bases: each its own index, documents folder(s), embedder and chunking.

Layout::

    <paths.knowledge_bases>/
      <name>/
        kb.json       its settings (documents folders, chunking, embedding), written once
        index/        its index (the same format as the default one: index/versions.py)
        documents/    its own documents folder (uploads land here), unless others were named

The knowledge base called `default` is the one the config's `[paths]` describe, so an index
written before knowledge bases existed is the default one, unchanged. Every face turns a name
into a full `Settings` with `settings_for(name)`, and everything below (ingest, the service,
the check) keeps working on one `Settings`, unaware of the others.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from config import ChunkingSettings, EmbeddingSettings, Section, Settings
from errors import Message, RagchatError
from i18n import N_
from index.errors import IndexStoreError
from index.lock import index_lock
from index.manifest import read_manifest
from index.stores import store_class
from index.versions import current_version, index_size

DEFAULT_KB = "default"
SETTINGS_FILE = "kb.json"
MAX_NAME_CHARS = 64
_NAME = re.compile(r"[\w][\w .-]*")
"""Letters (any script), digits, `_`, then also spaces, `-` and `.`."""


class KnowledgeBaseError(RagchatError):
    """A knowledge base that cannot be named, found, created, renamed or deleted; the message
    says why and what to do."""

    code = "invalid_knowledge_base"


class KnowledgeBaseNotFoundError(KnowledgeBaseError):
    """No knowledge base of that name."""

    code = "knowledge_base_not_found"
    http_status = 404


class KnowledgeBaseSpec(Section):
    """What `kb.json` holds: the parts of the settings that belong to one knowledge base."""

    documents: list[Path]
    """Its documents folders; relative ones are inside the knowledge base's own folder. The
    first one is where uploads go and what file names are relative to."""
    chunking: ChunkingSettings
    embedding: EmbeddingSettings
    created_at: float = 0.0
    store_key: str = ""
    """Suffix of its Milvus collections' names, fixed at creation so that a rename keeps them
    (empty in knowledge bases created before: a digest of the name stands in)."""


@dataclass(frozen=True)
class KnowledgeBaseStats:
    """One row of the knowledge-base list."""

    name: str
    documents: list[Path]
    files: int
    chunks: int
    size_bytes: int
    updated_at: float | None
    """Time of the last ingest; None before the first one."""
    embedder: str
    problem: str = ""
    """Why the index cannot be read, if it cannot."""


def check_name(name: str) -> str:
    """`name` if it can name a knowledge base (a folder), else KnowledgeBaseError saying why."""
    allowed = Message(
        N_(
            "use letters, digits, spaces, '-', '_' or '.' (at most {count} characters, "
            "starting with a letter or digit)"
        ),
        count=MAX_NAME_CHARS,
    )
    if not name or not name.strip():
        raise KnowledgeBaseError(N_("a knowledge base needs a name: {allowed}"), allowed=allowed)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise KnowledgeBaseError(
            N_("{name!r}: control characters are not allowed; {allowed}"),
            name=name,
            allowed=allowed,
        )
    if "/" in name or "\\" in name or ".." in name:
        raise KnowledgeBaseError(
            N_("{name!r}: '/', '\\' and '..' are not allowed; {allowed}"),
            name=name,
            allowed=allowed,
        )
    if (
        len(name) > MAX_NAME_CHARS
        or not _NAME.fullmatch(name)
        or name != name.strip()
        or name.endswith(".")
        or unicodedata.normalize("NFKC", name) != name
    ):
        raise KnowledgeBaseError(
            N_("{name!r} is not allowed: {allowed}"), name=name, allowed=allowed
        )
    return name


def kb_commands(message: str, kb: str) -> str:
    """`message` with its `python ingest.py` commands pointed at knowledge base `kb` (the index
    layer names commands without knowing which knowledge base it serves)."""
    if kb == DEFAULT_KB:
        return message
    return message.replace("`python ingest.py", f"`python ingest.py --kb {kb}")


class KnowledgeBaseCatalog:
    """The knowledge bases of one configuration: list, create, rename, delete, and the
    `Settings` of each."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.paths.knowledge_bases

    def names(self) -> list[str]:
        """`default` first, then the named ones in alphabetical order."""
        named = []
        if self.folder.is_dir():
            named = sorted(
                p.name
                for p in self.folder.iterdir()
                if not p.name.startswith(".")  # one being created or deleted
                and (p / SETTINGS_FILE).is_file()
            )
        return [DEFAULT_KB, *(n for n in named if n != DEFAULT_KB)]

    def exists(self, name: str) -> bool:
        return name == DEFAULT_KB or (self._home(name) / SETTINGS_FILE).is_file()

    def settings_for(self, name: str) -> Settings:
        """The settings with this knowledge base's paths, chunking and embedder."""
        if name == DEFAULT_KB:
            return self.settings
        spec = self._spec(name)
        home = self._home(name)
        documents = [home / folder for folder in spec.documents]
        paths = self.settings.paths.model_copy(
            update={
                "documents": documents[0],
                "extra_documents": documents[1:],
                "index": home / "index",
            }
        )
        key = spec.store_key or f"kb_{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        store = self.settings.store.model_copy(
            update={"collection": f"{self.settings.store.collection}_{key}"}
        )
        return self.settings.model_copy(
            update={
                "paths": paths,
                "chunking": spec.chunking,
                "embedding": spec.embedding,
                "store": store,
            }
        )

    def create(
        self,
        name: str,
        documents: list[Path] | None = None,
        chunking: ChunkingSettings | None = None,
        embedding: EmbeddingSettings | None = None,
    ) -> Settings:
        """A new, empty knowledge base; its documents are `documents` (folders, kept where they
        are) or its own `documents/` folder. Chunking and embedder default to the config's."""
        check_name(name)
        if self.exists(name):
            raise _taken(name)
        folders = [Path(folder).resolve() for folder in documents or []]
        for folder in folders:
            if not folder.is_dir():
                raise KnowledgeBaseError(
                    N_("{folder}: no such folder for the documents"), folder=folder
                )
        spec = KnowledgeBaseSpec(
            documents=folders or [Path("documents")],
            chunking=chunking or self.settings.chunking,
            embedding=embedding or self.settings.embedding,
            created_at=time.time(),
            store_key=f"kb_{uuid.uuid4().hex[:12]}",
        )
        home = self._home(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".new-", dir=self.folder))  # one per caller
        (staging / "documents").mkdir()
        (staging / SETTINGS_FILE).write_text(spec.model_dump_json(indent=2), encoding="utf-8")
        try:
            staging.rename(home)  # whole or not at all; fails if the name was just taken
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            raise _taken(name) from None
        return self.settings_for(name)

    def rename(self, old: str, new: str) -> None:
        """Give a knowledge base another name (its folder moves; nothing is re-indexed)."""
        self._named(
            old, N_("the default knowledge base cannot be renamed: it is the config's [paths]")
        )
        check_name(new)
        if self.exists(new):
            raise _taken(new)
        with self._writers_lock(old):
            try:
                self._home(old).rename(self._home(new))
            except OSError as err:  # a folder of that name that is not a knowledge base
                raise KnowledgeBaseError(
                    N_("cannot rename {old!r} to {new!r}: {reason} ({folder})"),
                    old=old,
                    new=new,
                    reason=err.strerror,
                    folder=self._home(new),
                ) from None

    def delete(self, name: str) -> None:
        """Delete a knowledge base: its index, settings and own documents folder. Documents
        folders named at creation stay where they are."""
        self._named(
            name, N_("the default knowledge base cannot be deleted: it is the config's [paths]")
        )
        store = self.settings_for(name).store
        with self._writers_lock(name):
            store_class(store.backend).drop(store)
            home = self._home(name)
            trash = self.folder / f".deleted-{name}-{os.getpid()}"
            home.rename(trash)  # gone from the list at once, even if removal is slow
        shutil.rmtree(trash, ignore_errors=True)

    def stats(self, name: str) -> KnowledgeBaseStats:
        settings = self.settings_for(name)
        embedding = settings.embedding
        embedder = f"{embedding.backend}" + (f" · {embedding.model}" if embedding.model else "")
        documents = [settings.paths.documents, *settings.paths.extra_documents]
        try:
            version = current_version(settings.paths.index, settings.store)
            if version is None:
                return KnowledgeBaseStats(name, documents, 0, 0, 0, None, embedder)
            manifest = read_manifest(version)
        except IndexStoreError as err:
            return KnowledgeBaseStats(name, documents, 0, 0, 0, None, embedder, str(err))
        return KnowledgeBaseStats(
            name=name,
            documents=documents,
            files=len(manifest.files),
            chunks=sum(record.chunk_count for record in manifest.files.values()),
            size_bytes=index_size(version.parent),
            updated_at=manifest.updated_at,
            embedder=embedder,
        )

    def _home(self, name: str) -> Path:
        return self.folder / check_name(name)

    def _named(self, name: str, refusal: str) -> None:
        """Check that `name` exists and is not the default (`refusal` says why not)."""
        if name == DEFAULT_KB:
            raise KnowledgeBaseError(refusal)
        if not self.exists(name):
            raise self.unknown(name)

    def unknown(self, name: str) -> KnowledgeBaseNotFoundError:
        return KnowledgeBaseNotFoundError(
            N_(
                "no knowledge base named {name!r}; available: {available}. "
                "Create it with `python kb.py create {name} [FOLDERS]`"
            ),
            name=name,
            available=", ".join(self.names()),
        )

    def _spec(self, name: str) -> KnowledgeBaseSpec:
        path = self._home(name) / SETTINGS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return KnowledgeBaseSpec.model_validate(data)
        except FileNotFoundError:
            raise self.unknown(name) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as err:
            raise KnowledgeBaseError(
                N_("{path}: cannot read this knowledge base's settings ({error})"),
                path=path,
                error=err,
            ) from None

    def _writers_lock(self, name: str):
        """The index's writers lock: no ingest runs while the folder moves."""
        return index_lock(self._home(name) / "index", wait_seconds=5.0, on_wait=lambda _: None)


def _taken(name: str) -> KnowledgeBaseError:
    return KnowledgeBaseError(N_("a knowledge base named {name!r} already exists"), name=name)
