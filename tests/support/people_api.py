"""People for the API's permission tests: accounts with keys in a test's own users file, a config
with `[auth]` on, a chat model that takes its time (to fill the local model's line), and the
API served by uvicorn in a thread of the test's process (so it can be handed that model)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from accounts.store import AccountStore
from config import AuthSettings, LLMProfile
from llms import ChatModels, estimate_tokens
from services.people import LOCAL_OPERATOR, AccountService, Person

PASSWORD = "a long enough password"


@dataclass(frozen=True)
class Member:
    """A person made for a test, with an API key of theirs."""

    person: Person
    key: str


def accounts_at(users: Path, clock: Callable[[], float] = time.time) -> AccountService:
    """The accounts in the users file `users`, on `clock`."""
    return AccountService(AccountStore(users), AuthSettings(enabled=True), clock=clock)


def add_members(users: Path, **roles: str) -> dict[str, Member]:
    """The people `name=role` (in order: the first admin comes first), each with a key."""
    accounts = accounts_at(users)
    members = {}
    for name, role in roles.items():
        person = accounts.add_person(LOCAL_OPERATOR, name, role, PASSWORD)
        members[name] = Member(person, accounts.create_key(LOCAL_OPERATOR, name).key)
    return members


def auth_config(folder: Path, docs: Path, *, queue_limit: int = 8) -> Path:
    """A config.toml with `[auth]` on over `docs`, the bundled model greedy; the users file is
    `folder/users.sqlite3`."""
    from tests.support.paths import MODEL

    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{folder / "index"}"\n'
        f'users = "{folder / "users.sqlite3"}"\nhistory = "{folder / "history.sqlite3"}"\n'
        f'knowledge_bases = "{folder / "knowledge_bases"}"\n'
        f"[llm]\nqueue_limit = {queue_limit}\n"
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{MODEL}"\n'
        "temperature = 0.0\n[auth]\nenabled = true\n",
        encoding="utf-8",
    )
    return config


class SlowChatModel(GenericFakeChatModel):
    """LangChain's fake chat model, taking `seconds` over each reply, as a local model does."""

    seconds: float = 0.3

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        time.sleep(self.seconds)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def slow_models(reply: str, seconds: float) -> ChatModels:
    """Chat models that answer `reply` after `seconds`, one at a time (`exclusive`: they wait
    in the local model's line), whatever the profile."""

    def endless() -> Iterator[AIMessage]:
        while True:
            yield AIMessage(reply)

    llm = SlowChatModel(messages=endless(), seconds=seconds)
    return ChatModels(llm, llm, True, estimate_tokens, lambda _temperature: {})


def building(models: ChatModels):
    """A `ServiceHub(chat_models=...)` builder that hands out `models` for every profile."""

    def build(_profile: LLMProfile, _refusals: list[str]) -> ChatModels:
        return models

    return build
