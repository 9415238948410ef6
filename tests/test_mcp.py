"""The MCP server through the official `mcp` client, as users' MCP clients reach it: `python
mcp_server.py` over stdio (acting as the person whose key RAGCHAT_API_KEY holds) and `serve.py`'s
`/mcp` over streamable HTTP with each person's key, `[auth]` on. Real index (built once by
`ingest.py`), real embedder, the bundled model greedy; the answers are compared with the
OpenAI-compatible API's for the same question."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from config import load_settings
from tests.support.knowledge import indexed_chunks
from tests.support.mcp_client import McpClient, http, stdio
from tests.support.paths import SAMPLE_DIR
from tests.support.people_api import Member, add_members, auth_config
from tests.support.processes import client, index_and_serve

TOOLS = {"search", "ask", "list_knowledge_bases", "list_documents", "read_document"}
QUESTION = "什么是困惑度？"
PRIVATE = "ada-notes"
NOTE = "# 星图\n\n猎户座的参宿四是一颗红超巨星，距离地球大约 550 光年。\n"
UNKNOWN = "no knowledge base named"


@dataclass(frozen=True)
class Served:
    folder: Path
    config: Path
    base_url: str
    """serve.py's `/v1`."""
    ada: Member
    """An admin: owns PRIVATE."""
    rita: Member
    """A reader: may read `default` (shared with everyone), not PRIVATE."""

    @property
    def mcp_url(self) -> str:
        return self.base_url.removesuffix("/v1") + "/mcp"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The sample notes indexed once; serve.py over them with auth on; ada's private knowledge
    base holding one uploaded note."""
    folder = tmp_path_factory.mktemp("mcp")
    docs = folder / "docs"
    shutil.copytree(SAMPLE_DIR, docs)
    config = auth_config(folder, docs)
    people = add_members(load_settings(config).paths.users, ada="admin", rita="reader")
    process, base_url = index_and_serve(config, folder)
    ada = people["ada"]
    created = httpx.post(
        f"{base_url}/knowledge_bases",
        json={"name": PRIVATE},
        headers={"Authorization": f"Bearer {ada.key}"},
    )
    assert created.status_code == 200, created.text
    client(base_url, ada.key).files.create(
        file=("stars.md", NOTE.encode()), purpose="assistants", extra_body={"kb": PRIVATE}
    )
    yield Served(folder, config, base_url, ada, people["rita"])
    process.terminate()
    process.wait(30)


@pytest.fixture(scope="module")
def ada_http(served) -> McpClient:
    with http(served.mcp_url, served.ada.key) as connected:
        yield connected


@pytest.fixture(scope="module")
def rita_http(served) -> McpClient:
    with http(served.mcp_url, served.rita.key) as connected:
        yield connected


@pytest.fixture(scope="module")
def rita_stdio(served) -> McpClient:
    with stdio(served.config, env={"RAGCHAT_API_KEY": served.rita.key}) as connected:
        yield connected


@pytest.fixture(params=["stdio", "http"])
def mcp(request, served) -> McpClient:
    """Each transport in turn, as someone who may read `default` (over `served`'s index)."""
    return request.getfixturevalue({"stdio": "rita_stdio", "http": "ada_http"}[request.param])


def test_the_tools_are_listed_for_a_model_to_choose(mcp):
    tools = mcp.tools()
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert len(tool.description) > 80 and tool.output_schema is not None
        assert tool.annotations.read_only_hint
    assert "什么" in tools["ask"].description and "困惑度" in tools["search"].description
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["ask"].input_schema["required"] == ["question"]


def test_search_returns_passages_that_are_real_chunks(served, mcp):
    found = mcp.result("search", query=QUESTION, k=3)
    passages = found["passages"]
    assert found["knowledge_base"] == "default" and [p["n"] for p in passages] == [1, 2, 3]
    assert passages[0]["source"] == "ngram-language-models.md"
    chunks = indexed_chunks(served.folder)
    for passage in passages:
        chunk = chunks[passage["id"]]
        meta = chunk["metadata"]
        assert passage["text"] == chunk["text"] and passage["source"] == meta["source"]
        assert (passage["start"], passage["end"]) == (meta["start"], meta["end"])
        assert passage["instructions"] == [] and not passage["cited"]
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)


def test_ask_gives_the_apis_answer_and_sources(served, rita_stdio, ada_http):
    """Greedy: the same answer text and passages as a chat completion of the same question,
    over either transport (and for two people who may both read `default`); the cited passage
    opens in its document."""
    reply = client(served.base_url, served.ada.key).chat.completions.create(
        model="local", messages=[{"role": "user", "content": QUESTION}]
    )
    api_sources = [
        {key: s[key] for key in ("n", "source", "start", "end", "text", "cited")}
        for s in reply.model_extra["sources"]
    ]
    assert reply.model_extra["cited"], "the API's answer cites nothing: nothing to compare"
    for mcp in (rita_stdio, ada_http):
        answered = mcp.result("ask", question=QUESTION)
        assert answered["answer"] == reply.choices[0].message.content
        assert answered["cited"] == reply.model_extra["cited"]
        assert answered["unsupported"] == reply.model_extra["unsupported"]
        passages = [{key: p[key] for key in api_sources[0]} for p in answered["passages"]]
        assert passages == api_sources
        cited = answered["passages"][answered["cited"][0] - 1]
        opened = mcp.result(
            "read_document", source=cited["source"], start=cited["start"], end=cited["end"]
        )
        assert cited["text"] in opened["text"]


def test_read_document_opens_a_cited_passage(mcp):
    passage = mcp.result("search", query=QUESTION, k=1)["passages"][0]
    source, start, end = passage["source"], passage["start"], passage["end"]
    around = mcp.result("read_document", source=source, start=start, end=end, context=40)
    assert around["start"] == max(0, start - 40) and around["end"] <= end + 40
    assert passage["text"] in around["text"]
    whole = mcp.read(f"ragchat://default/{source}")
    assert len(whole) == around["length"] and whole[start:end] == passage["text"]
    first = mcp.result("read_document", source=source)
    assert (first["start"], first["text"]) == (0, whole[: first["end"]])
    listed = mcp.result("list_documents")["documents"]
    assert source in {d["source"] for d in listed} and len(listed) == 7


def test_a_wrong_or_missing_key_is_refused_with_401(served):
    for headers in ({"Authorization": "Bearer rck_made_up"}, {}):
        refused = httpx.post(served.mcp_url, json={}, headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(ExceptionGroup) as caught, http(served.mcp_url, "rck_made_up") as wrong:
        wrong.tools()
    assert caught.group_contains(MCPError)


def test_bad_calls_come_back_as_error_results(mcp):
    for tool, arguments, message in [
        ("search", {"query": "x", "knowledge_base": "nope"}, f"{UNKNOWN} 'nope'"),
        ("ask", {"question": "x", "knowledge_base": "nope"}, f"{UNKNOWN} 'nope'"),
        ("list_documents", {"knowledge_base": "nope"}, f"{UNKNOWN} 'nope'"),
        ("read_document", {"source": "nope.md"}, "'nope.md' is not in this knowledge base"),
        ("read_document", {"source": "rag.md", "start": 10**6}, "start 1000000 is past its end"),
        ("search", {"query": "x", "filter": {"colour": "red"}}, "unknown filter key 'colour'"),
        ("search", {"query": "x", "k": 0}, "k"),
    ]:
        called = mcp.call(tool, **arguments)
        assert called.is_error and message in called.content[0].text, (tool, called.content)
    assert mcp.result("list_knowledge_bases")["knowledge_bases"]  # still serving


def test_a_knowledge_base_one_may_not_read_is_out_of_reach(served, ada_http, rita_http, rita_stdio):
    """ada's private knowledge base answers her, and is, for rita over either transport, the
    same "not found" as a name nobody has."""
    found = ada_http.result("search", query="参宿四离地球多远？", knowledge_base=PRIVATE, k=1)
    assert "550 光年" in found["passages"][0]["text"]
    names = [kb["name"] for kb in ada_http.result("list_knowledge_bases")["knowledge_bases"]]
    assert names == ["default", PRIVATE]
    for rita in (rita_http, rita_stdio):
        listed = rita.result("list_knowledge_bases")["knowledge_bases"]
        assert [kb["name"] for kb in listed] == ["default"]
        for tool, arguments in [
            ("search", {"query": "参宿四"}),
            ("list_documents", {}),
            ("read_document", {"source": "uploads/stars.md"}),
        ]:
            called = rita.call(tool, knowledge_base=PRIVATE, **arguments)
            assert called.is_error and f"{UNKNOWN} '{PRIVATE}'" in called.content[0].text
        with pytest.raises(MCPError, match=f"{UNKNOWN} '{PRIVATE}'"):
            rita.read(f"ragchat://{PRIVATE}/uploads/stars.md")
