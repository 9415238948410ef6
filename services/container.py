"""The one container of a process: it builds every service once from `Settings` and shares what
they share, across every knowledge base of the configuration (`kb`, default `default`).

    hub = ServiceHub(settings)                      # once per process
    service = hub.service("local", kb="default", person=person)  # one per (kb, version, profile)
    hub.ingesting.ingest(..., person=person)        # ingest, uploads, forget, check, repair
    hub.knowledge_bases.overview(person=person)     # list, contents, create, rename, share, ...
    hub.conversations.list(person=person)           # the person's stored conversations
    hub.accounts                                    # people, keys, sessions, the audit log

Every call that reads or changes a knowledge base, a file or a conversation takes the `person`
who asks (keyword-only): the app and the API pass whoever signed in; the CLIs leave the default,
LOCAL_OPERATOR, the admin who owns the files. The services check `services.permissions` before
they act (`services.guard`).

Shared: the catalogue of knowledge bases (`index.catalog`), each one's embedder and live index
version (`services.live`), each profile's chat models, the accounts file (opened when first
needed), and the line for the local model's single seat (`llms.queue`), which takes turns
between people and which ingests wait in too, so embedding and generation never run at once.
"""

from __future__ import annotations

from collections.abc import Callable

from config import LLMProfile, Settings
from i18n import N_
from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog
from llms import ChatModels, LLMError, backend_of, build_chat_models
from llms.queue import ModelQueue
from services.answering import RagService
from services.conversations import ConversationService
from services.guard import Guard
from services.ingesting import IngestService
from services.knowledge_bases import KnowledgeBaseService
from services.live import LiveIndexes
from services.people import LOCAL_OPERATOR, AccountService, Person
from services.permissions import Action
from text.language import REFUSALS


class UnknownProfileError(LLMError):
    """No chat model profile of that name: a bad argument (the message lists the profiles)."""

    code = "model_not_found"
    http_status = 404
    exit_code = 2


class ServiceHub:
    """One per process: the services (see module), built once and shared by every request."""

    def __init__(
        self,
        settings: Settings,
        *,
        chat_models: Callable[[LLMProfile, list[str]], ChatModels] = build_chat_models,
    ) -> None:
        """`chat_models` builds a profile's chat models (`llms.build_chat_models`; tests and
        benchmarks pass stand-ins, so the rest of the process is the real one)."""
        self.settings = settings
        self._build_chat_models = chat_models
        self.queue = ModelQueue(limit=settings.llm.queue_limit)
        catalog = KnowledgeBaseCatalog(settings)
        self._live = LiveIndexes(catalog)
        self._guard = Guard(settings, catalog)
        self.conversations = ConversationService(settings.paths.history, catalog, self._guard)
        self.knowledge_bases = KnowledgeBaseService(
            catalog, self._live, self.queue, self.conversations, self._guard
        )
        self.ingesting = IngestService(catalog, self._live, self.queue, self._guard)
        self.ingest = self.ingesting.ingest
        """The call scripts and benchmarks make before asking: `IngestService.ingest`."""
        self._models: dict[str, ChatModels] = {}

    @property
    def accounts(self) -> AccountService:
        """People, API keys, sessions, knowledge-base shares and the audit log
        (`settings.paths.users`, opened or created on first use)."""
        return self._guard.accounts

    @property
    def profiles(self) -> list[str]:
        return list(self.settings.llm.profiles)

    def describe(self, profile: str) -> str:
        """One line about a profile's model for the UI (no model is built)."""
        chosen = self.settings.llm.profiles[profile]
        return backend_of(chosen).describe(chosen)

    def service(
        self,
        profile: str | None = None,
        with_model: bool = True,
        kb: str = DEFAULT_KB,
        *,
        person: Person = LOCAL_OPERATOR,
    ) -> RagService:
        """The answer service for the live index of `kb` and `profile` (default: the configured
        one), for a `person` who may read `kb` (ask it with `stream(..., person=person)`).
        Raises KnowledgeBaseNotFoundError for a knowledge base that does not exist or that
        `person` may not read, IndexStoreError without an index, UnknownProfileError; a model
        that cannot be built is reported by each answer (retrieval still works).
        `with_model=False`: a retrieval-only service that loads no chat model (no
        translation)."""
        self._guard.require(person, Action.READ, kb)
        name = profile or self.settings.llm.profile
        if name not in self.settings.llm.profiles:
            raise UnknownProfileError(
                N_("no llm profile named {name!r}; available: {names}"),
                name=name,
                names=", ".join(self.profiles),
            )
        live = self._live.open(kb)
        with self._live.lock:
            if (name, with_model) not in live.services:
                models = self._chat_models(name) if with_model else LLMError(N_("retrieval only"))
                service = RagService(
                    self.knowledge_bases.settings_for(kb),
                    live.knowledge_base,
                    name,
                    models,
                    self.queue,
                    kb=kb,
                )
                if isinstance(models, LLMError) and with_model:
                    return service  # built again next time: the user may fix the cause
                live.services[name, with_model] = service
            return live.services[name, with_model]

    def _chat_models(self, profile: str) -> ChatModels | LLMError:
        """The profile's chat models, built once (called holding the live indexes' lock)."""
        if profile not in self._models:
            try:
                self._models[profile] = self._build_chat_models(
                    self.settings.llm.profiles[profile], list(REFUSALS.values())
                )
            except LLMError as err:
                return err
        return self._models[profile]
