"""`python serve.py` with `[auth] enabled`, driven by the official `openai` client with each
person's own key: a private knowledge base is absent for everyone else (lists, files, chat,
deletes: the same 404 as a name nobody has), a reader is refused uploads with 403, revoked,
expired and missing keys get 401, and no key reaches the server's log. Real accounts file, real
index and embedder, the bundled model for the one answer."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from config import load_settings
from services.people import LOCAL_OPERATOR
from tests.support.people_api import Member, accounts_at, add_members, auth_config
from tests.support.processes import client, start_server

NOTE = "# 星图\n\n猎户座的参宿四是一颗红超巨星，距离地球大约 550 光年。\n"
PRIVATE = "eve-notes"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """serve.py with auth on: ada (the first admin), two editors (eve, ed) and a reader
    (rita), each with a key; and the keys that must not work."""
    folder = tmp_path_factory.mktemp("api-people")
    (folder / "docs").mkdir()
    config = auth_config(folder, folder / "docs")
    users = load_settings(config).paths.users
    people = add_members(users, ada="admin", eve="editor", ed="editor", rita="reader")
    accounts = accounts_at(users)
    revoked = accounts.create_key(LOCAL_OPERATOR, "ed")
    accounts.revoke_key(LOCAL_OPERATOR, revoked.key_id)
    ten_days_ago = accounts_at(users, clock=lambda: time.time() - 10 * 86400)
    expired = ten_days_ago.create_key(LOCAL_OPERATOR, "ed", expires_days=1)
    log = folder / "serve.log"
    process, base_url = start_server(config, log, [])
    dead = {"revoked": revoked.key, "expired": expired.key, "made up": "rck_0123456789abcdef_x"}
    yield base_url, people, dead, log, users
    process.terminate()
    process.wait(30)


def as_(base_url: str, member: Member) -> openai.OpenAI:
    return client(base_url, key=member.key)


def http(base_url: str, member: Member, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {member.key}"}
    return httpx.request(method, f"{base_url}{path}", headers=headers, timeout=300, **kwargs)


def kb_ids(base_url: str, member: Member) -> list[str]:
    listed = http(base_url, member, "GET", "/knowledge_bases")
    assert listed.status_code == 200, listed.text
    return [row["id"] for row in listed.json()["data"]]


def ask(base_url: str, member: Member, kb: str):
    return as_(base_url, member).chat.completions.create(
        model="local",
        messages=[{"role": "user", "content": "参宿四离地球多远？"}],
        extra_body={"kb": kb, "k": 2},
    )


@pytest.fixture(scope="module")
def private_kb(server):
    """eve's knowledge base, holding one note she uploaded."""
    base_url, people, *_ = server
    created = http(base_url, people["eve"], "POST", "/knowledge_bases", json={"name": PRIVATE})
    assert created.status_code == 200, created.text
    uploaded = as_(base_url, people["eve"]).files.create(
        file=("stars.md", NOTE.encode()), purpose="assistants", extra_body={"kb": PRIVATE}
    )
    assert uploaded.id == "uploads/stars.md"
    return PRIVATE


def test_a_private_knowledge_base_is_absent_for_everyone_else(server, private_kb):
    base_url, people, *_ = server
    eve, ed, rita, ada = people["eve"], people["ed"], people["rita"], people["ada"]
    assert kb_ids(base_url, eve) == ["default", private_kb]
    assert kb_ids(base_url, ada) == ["default", private_kb]  # admins look after every one
    assert kb_ids(base_url, ed) == kb_ids(base_url, rita) == ["default"]

    for name in (private_kb, "no-such-kb"):  # hidden and absent: word for word the same
        refusals = []
        with pytest.raises(openai.NotFoundError) as caught:
            as_(base_url, ed).files.list(extra_query={"kb": name})
        refusals.append(caught.value)
        with pytest.raises(openai.NotFoundError) as caught:
            ask(base_url, ed, name)
        refusals.append(caught.value)
        with pytest.raises(openai.NotFoundError) as caught:
            as_(base_url, ed).files.delete("uploads/stars.md", extra_query={"kb": name})
        refusals.append(caught.value)
        for refused in refusals:
            assert refused.body["code"] == "knowledge_base_not_found"
            assert refused.body["message"] == f"no knowledge base named '{name}'"
        for method, body in (("DELETE", None), ("PATCH", {"name": "mine"})):
            response = http(base_url, ed, method, f"/knowledge_bases/{name}", json=body)
            assert response.status_code == 404, response.text
            assert response.json()["error"] == {
                "message": f"no knowledge base named '{name}'",
                "type": "not_found_error",
                "param": None,
                "code": "knowledge_base_not_found",
            }

    files = as_(base_url, eve).files.list(extra_query={"kb": private_kb})
    assert [f.id for f in files] == ["uploads/stars.md"]  # nothing the others tried took
    reply = ask(base_url, eve, private_kb)
    assert {s["source"] for s in reply.model_extra["sources"]} == {"uploads/stars.md"}


def test_a_reader_may_ask_but_not_upload(server, private_kb):
    base_url, people, _, _, users = server
    rita = people["rita"]
    with pytest.raises(openai.PermissionDeniedError) as caught:
        as_(base_url, rita).files.create(file=("mine.md", b"# mine\n"), purpose="assistants")
    assert caught.value.status_code == 403 and caught.value.body["code"] == "forbidden"
    assert caught.value.body["type"] == "permission_error"
    assert "rita (reader) may not change the documents of knowledge base 'default'" in (
        caught.value.message
    )
    created = http(base_url, rita, "POST", "/knowledge_bases", json={"name": "hers"})
    assert created.status_code == 403 and created.json()["error"]["code"] == "forbidden"

    accounts = accounts_at(users)  # eve shares her notes with rita, to write even: still a reader
    accounts.share(people["eve"].person, private_kb, "rita", "write")
    assert kb_ids(base_url, rita) == ["default", private_kb]
    listed = as_(base_url, rita).files.list(extra_query={"kb": private_kb})
    assert [f.id for f in listed] == ["uploads/stars.md"]
    with pytest.raises(openai.PermissionDeniedError):
        as_(base_url, rita).files.delete("uploads/stars.md", extra_query={"kb": private_kb})
    accounts.unshare(people["eve"].person, private_kb, "rita")
    assert kb_ids(base_url, rita) == ["default"]

    logged = [(e.actor, e.action, e.target, e.detail) for e in accounts.audit_log(50)]
    assert ("eve", "kb_create", private_kb, "owner eve") in logged
    assert ("eve", "file_upload", private_kb, "uploads/stars.md") in logged
    assert ("eve", "kb_share", private_kb, "rita: write") in logged


def test_revoked_expired_made_up_and_missing_keys_get_401(server):
    base_url, people, dead, _, users = server
    for what, key in dead.items():
        with pytest.raises(openai.AuthenticationError) as caught:
            client(base_url, key=key).models.list()
        assert caught.value.status_code == 401, what
        assert caught.value.body["code"] == "invalid_api_key", what
        assert key not in caught.value.message
    missing = httpx.get(f"{base_url}/knowledge_bases")
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    assert [m.id for m in as_(base_url, people["ed"]).models.list()] == ["local"]

    accounts = accounts_at(users)
    accounts.set_disabled(LOCAL_OPERATOR, "ed")  # a disabled person's key stops at once
    try:
        with pytest.raises(openai.AuthenticationError):
            as_(base_url, people["ed"]).models.list()
    finally:
        accounts.set_disabled(LOCAL_OPERATOR, "ed", False)
    assert as_(base_url, people["ed"]).models.list()


def test_the_server_logs_no_key(server, private_kb):
    """Run last in the module: every key has been sent by now, good and bad."""
    base_url, people, dead, log, _ = server
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "ragchat API on" in text  # the log is the server's
    for key in [member.key for member in people.values()] + list(dead.values()):
        secret = key.split("_", 2)[2]
        assert key not in text and secret not in text
