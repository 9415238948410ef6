"""The one container of a process: it builds every service once from `Settings` and shares what
they share, across every knowledge base of the configuration (`kb`, default `default`).

    hub = ServiceHub(settings)                      # once per process
    service = hub.service("local", kb="default")    # answers: one per (kb, index version, profile)
    hub.ingesting.ingest(...)                       # ingest, uploads, forget, check, repair
    hub.knowledge_bases.overview()                  # list, contents, create, rename, delete
    hub.conversations.list()                        # the stored conversations

Shared: the catalogue of knowledge bases (`index.catalog`), each one's embedder and live index
version (`services.live`), each profile's chat models, and the line for the local model's single
seat (`llms.queue`), which ingests wait in too, so embedding and generation never run at once.
"""

from __future__ import annotations

from config import Settings
from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog
from llms import ChatModels, LLMError, backend_of, build_chat_models
from llms.queue import ModelQueue
from services.answering import RagService
from services.conversations import ConversationService
from services.ingesting import IngestService
from services.knowledge_bases import KnowledgeBaseService
from services.live import LiveIndexes
from text.language import REFUSALS


class UnknownProfileError(LLMError):
    """No chat model profile of that name: a bad argument (the message lists the profiles)."""

    code = "model_not_found"
    http_status = 404
    exit_code = 2


class ServiceHub:
    """One per process: the services (see module), built once and shared by every request."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.queue = ModelQueue()
        catalog = KnowledgeBaseCatalog(settings)
        self._live = LiveIndexes(catalog)
        self.conversations = ConversationService(settings.paths.history, catalog)
        self.knowledge_bases = KnowledgeBaseService(
            catalog, self._live, self.queue, self.conversations
        )
        self.ingesting = IngestService(catalog, self._live, self.queue)
        self.ingest = self.ingesting.ingest
        """The call scripts and benchmarks make before asking: `IngestService.ingest`."""
        self._models: dict[str, ChatModels] = {}

    @property
    def profiles(self) -> list[str]:
        return list(self.settings.llm.profiles)

    def describe(self, profile: str) -> str:
        """One line about a profile's model for the UI (no model is built)."""
        chosen = self.settings.llm.profiles[profile]
        return backend_of(chosen).describe(chosen)

    def service(
        self, profile: str | None = None, with_model: bool = True, kb: str = DEFAULT_KB
    ) -> RagService:
        """The answer service for the live index of `kb` and `profile` (default: the configured
        one). Raises KnowledgeBaseError for an unknown knowledge base, IndexStoreError without
        an index, UnknownProfileError; a model that cannot be built is reported by each answer
        (retrieval still works). `with_model=False`: a retrieval-only service that loads no
        chat model (no translation)."""
        name = profile or self.settings.llm.profile
        if name not in self.settings.llm.profiles:
            raise UnknownProfileError(
                f"no llm profile named {name!r}; available: {', '.join(self.profiles)}"
            )
        live = self._live.open(kb)
        with self._live.lock:
            if (name, with_model) not in live.services:
                models = self._chat_models(name) if with_model else LLMError("retrieval only")
                service = RagService(
                    self.knowledge_bases.settings_for(kb),
                    live.knowledge_base,
                    name,
                    models,
                    self.queue,
                )
                if isinstance(models, LLMError) and with_model:
                    return service  # built again next time: the user may fix the cause
                live.services[name, with_model] = service
            return live.services[name, with_model]

    def _chat_models(self, profile: str) -> ChatModels | LLMError:
        """The profile's chat models, built once (called holding the live indexes' lock)."""
        if profile not in self._models:
            try:
                self._models[profile] = build_chat_models(
                    self.settings.llm.profiles[profile], list(REFUSALS.values())
                )
            except LLMError as err:
                return err
        return self._models[profile]
