"""The local model's line through the API, as people fill it: with one person's 8 requests in
line, another person's one is answered after at most one of them (the one in the seat), and the
first request past `llm.queue_limit` waiting is 429 in OpenAI's shape, with `Retry-After`.

The API runs in this process (uvicorn in a thread, real HTTP, the official `openai` client), so
that its hub can be handed a chat model that takes 0.6 s per answer: the real index, embedder,
accounts and queue around it. Its log, at debug level, shows no key."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from api.app import create_app
from config import load_settings
from evaluation.served import served
from services.container import ServiceHub
from tests.support.people_api import (
    accounts_at,
    add_members,
    auth_config,
    building,
    slow_models,
)

SECONDS_PER_ANSWER = 0.6
LIMIT = 8
CLIENT_LOGGERS = ("openai", "httpx", "httpcore")
"""The test's own clients log what they send; the server's log is what must hold no key."""


@pytest.fixture
def api(tmp_path):
    """The API over one indexed note, auth on, `LIMIT` requests waiting per person; amy and bob
    (editors) may read `default` (shared with everyone)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "stars.md").write_text("# 星图\n\n参宿四是一颗红超巨星。\n", encoding="utf-8")
    settings = load_settings(auth_config(tmp_path, docs, queue_limit=LIMIT))
    people = add_members(settings.paths.users, ada="admin", amy="editor", bob="editor")
    models = slow_models("参宿四是红超巨星。", SECONDS_PER_ANSWER)
    hub = ServiceHub(settings, chat_models=building(models))
    hub.ingest(on_message=lambda _: None)
    hub.service("local")  # built before the clock starts
    return hub, people


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_another_persons_request_overtakes_a_full_line_and_one_more_is_429(api, caplog, capfd):
    hub, people = api
    caplog.set_level(logging.DEBUG)
    finished: list[tuple[str, float]] = []
    lock = threading.Lock()

    with served(create_app(hub), log_level="debug") as base_url:

        def ask(name: str, label: str) -> None:
            key = people[name].key
            openai.OpenAI(base_url=base_url, api_key=key, max_retries=0).chat.completions.create(
                model="local", messages=[{"role": "user", "content": "参宿四是什么星？"}]
            )
            with lock:
                finished.append((label, time.monotonic()))

        with ThreadPoolExecutor(max_workers=LIMIT + 2) as pool:
            amys = [pool.submit(ask, "amy", f"amy-{n}") for n in range(1, LIMIT + 1)]
            wait_for(lambda: len(hub.queue) == LIMIT)  # one in the seat, 7 waiting
            bob_sent = time.monotonic()
            bobs = pool.submit(ask, "bob", "bob")
            wait_for(lambda: len(hub.queue) == LIMIT + 1)
            amys.append(pool.submit(ask, "amy", f"amy-{LIMIT + 1}"))  # amy's 8th waiting
            wait_for(lambda: len(hub.queue) == LIMIT + 2)
            with pytest.raises(openai.RateLimitError) as refused:
                ask("amy", "refused")
            with pytest.raises(openai.RateLimitError):  # streamed: refused before any event
                openai.OpenAI(
                    base_url=base_url, api_key=people["amy"].key, max_retries=0
                ).chat.completions.create(
                    model="local", messages=[{"role": "user", "content": "?"}], stream=True
                )
            assert len(hub.queue) == LIMIT + 2  # refused at once, before it took a place
            for future in [*amys, bobs]:
                future.result(timeout=60)

    response = refused.value.response
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    assert refused.value.body["code"] == "queue_full"
    assert refused.value.body["type"] == "rate_limit_error"
    assert f"{LIMIT} of your requests are already waiting" in refused.value.body["message"]

    order = [label for label, _ in sorted(finished, key=lambda pair: pair[1])]
    bob_done = dict(finished)["bob"]
    amys_between = [
        label for label, at in finished if label.startswith("amy") and bob_sent < at < bob_done
    ]
    assert len(amys_between) <= 1, order  # only the one in the seat when bob asked
    assert order.index("bob") <= 2, order

    server_log = capfd.readouterr()
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(CLIENT_LOGGERS)
    )
    assert "POST /v1/chat/completions" in server_log.err + server_log.out  # the access log
    for member in people.values():
        secret = member.key.split("_", 2)[2]
        for text in (logged, server_log.out, server_log.err):
            assert secret not in text


def test_a_wrong_or_revoked_key_is_logged_nowhere(api, caplog, capfd):
    hub, people = api
    caplog.set_level(logging.DEBUG)
    accounts = accounts_at(hub.settings.paths.users)
    revoked = accounts.create_key(accounts.person("ada"), "amy")
    accounts.revoke_key(accounts.person("ada"), revoked.key_id)
    tried = [revoked.key, people["bob"].key + "x", "rck_00_not-a-key", "not even a key"]
    with served(create_app(hub), log_level="debug") as base_url:
        for key in tried:
            with pytest.raises(openai.AuthenticationError):
                openai.OpenAI(base_url=base_url, api_key=key, max_retries=0).models.list()
    server_log = capfd.readouterr()
    logged = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)
    )
    assert "GET /v1/models" in server_log.err + server_log.out
    for key in tried:
        for text in (logged, server_log.out, server_log.err):
            assert key not in text
