"""`python serve.py` on 127.0.0.1, driven by the official `openai` client and LangChain's
`ChatOpenAI` exactly as users point them at it; real index, real bundled model (greedy)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from tests.support.knowledge import indexed_chunks
from tests.support.paths import REPO, SAMPLE_DIR
from tests.support.processes import KEY, client, index_and_serve, start_server, write_config
from text.language import is_refusal

QUESTIONS = [
    "什么是困惑度？",
    "What does DPO skip compared with RLHF?",
    "多头注意力的各个头最后怎么合并？",
    "加一平滑的分母要加上什么？",
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """serve.py over the sample notes (indexed by ingest.py), with an API key."""
    folder = tmp_path_factory.mktemp("api")
    docs = folder / "docs"
    shutil.copytree(SAMPLE_DIR, docs)
    config = write_config(folder, docs, max_upload_mb=0.05)
    process, base_url = index_and_serve(config, folder)
    yield base_url, config, folder
    process.terminate()
    process.wait(30)


def ask(base_url: str, question: str, **extra) -> openai.types.chat.ChatCompletion:
    return client(base_url).chat.completions.create(
        model="local", messages=[{"role": "user", "content": question}], extra_body=extra or None
    )


def test_models_health_and_keys(api):
    base_url, _, _ = api
    assert [m.id for m in client(base_url).models.list()] == ["local", "nokey"]
    with pytest.raises(openai.AuthenticationError) as caught:
        client(base_url, key="wrong").models.list()
    assert caught.value.status_code == 401 and "invalid or missing API key" in caught.value.message
    health = json.load(urllib.request.urlopen(base_url.removesuffix("/v1") + "/health"))
    assert health["status"] == "ok" and health["index"]["files"] == 7


def test_answer_carries_sources_that_are_real_chunks(api):
    base_url, _, folder = api
    reply = ask(base_url, "什么是困惑度？")
    text = reply.choices[0].message.content
    sources = reply.model_extra["sources"]
    assert text.strip() and reply.choices[0].finish_reason == "stop"
    assert sources[0]["source"] == "ngram-language-models.md"
    chunks = {
        (c["metadata"]["source"], c["metadata"]["start"]): c
        for c in indexed_chunks(folder).values()
    }
    for source in sources:
        chunk = chunks[(source["source"], source["start"])]
        assert source["text"] == chunk["text"] and source["end"] == chunk["metadata"]["end"]
    assert reply.model_extra["cited"] and f"[{reply.model_extra['cited'][0]}]" in text


def test_an_invented_answer_is_refused_and_unsupported_sentences_are_named(api):
    """Nothing in the notes says how tall Everest is: the local profile answers with the
    refusal (the model's own, or in place of an answer no passage supports), and the response
    lists whatever sentences of it no passage supports."""
    base_url, _, _ = api
    reply = ask(base_url, "How tall is Mount Everest?")
    text = reply.choices[0].message.content
    assert is_refusal(text) and not reply.model_extra["cited"]
    assert all(sentence in text for sentence in reply.model_extra["unsupported"])


def test_streaming_with_the_openai_client(api):
    base_url, _, _ = api
    stream = client(base_url).chat.completions.create(
        model="local",
        messages=[{"role": "user", "content": "What does DPO skip compared with RLHF?"}],
        stream=True,
    )
    chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    last = chunks[-1]
    # the local profile holds the text back until a sentence is supported (one-sentence
    # answers come whole); what streams is exactly the final answer
    assert pieces and "".join(pieces) == last.model_extra["answer"]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["sources"][0]["source"] == "pretraining-finetuning.md"
    assert "reward model" in last.model_extra["answer"].lower()


def test_langchain_chat_openai_invokes_and_streams(api):
    base_url, _, _ = api
    llm = ChatOpenAI(model="local", base_url=base_url, api_key=KEY, temperature=0, max_retries=0)
    question = "What does DPO skip compared with RLHF?"
    reply = llm.invoke(question)
    assert "reward model" in reply.content.lower()
    streamed = [chunk.content for chunk in llm.stream(question)]
    assert len(streamed) > 3 and "".join(streamed) == reply.content


def test_history_and_per_request_options(api):
    base_url, _, _ = api
    reply = client(base_url).chat.completions.create(
        model="local",
        messages=[
            {"role": "system", "content": "ignored: ragchat has its own prompt"},
            {"role": "user", "content": "什么是困惑度？"},
            {"role": "assistant", "content": "困惑度是衡量语言模型的指标。"},
            {"role": "user", "content": [{"type": "text", "text": "它的数值越低说明什么？"}]},
        ],
        extra_body={"k": 1, "mode": "bm25", "translate": "off"},
    )
    assert len(reply.model_extra["sources"]) == 1
    assert reply.model_extra["sources"][0]["source"] == "ngram-language-models.md"


def test_errors_are_openai_shaped_and_name_the_way_out(api):
    base_url, _, _ = api
    with pytest.raises(openai.NotFoundError) as caught:
        client(base_url).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert "model 'gpt-4o' not found; available: local, nokey" in caught.value.message
    with pytest.raises(openai.BadRequestError, match="last message must be a user message"):
        client(base_url).chat.completions.create(
            model="local", messages=[{"role": "assistant", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError) as caught:
        client(base_url).chat.completions.create(model="local", messages=[])
    assert caught.value.body["code"] == "invalid_request" and "Traceback" not in str(caught.value)
    with pytest.raises(openai.InternalServerError) as caught:
        client(base_url).chat.completions.create(
            model="nokey", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.status_code == 503 and "no OpenAI API key" in caught.value.message


def test_no_index_is_a_clear_error(tmp_path):
    config = write_config(tmp_path, tmp_path / "docs")
    process, base_url = start_server(config, tmp_path / "serve.log", [])
    try:
        with pytest.raises(openai.InternalServerError) as caught:
            ask(base_url, "什么是困惑度？")
        assert caught.value.status_code == 503
        assert "build it with `python ingest.py`" in caught.value.message
        assert client(base_url).files.list().data == []
    finally:
        process.terminate()
        process.wait(30)


def test_upload_list_ask_and_remove_files(api):
    base_url, _, folder = api
    files = client(base_url).files
    note = "# 位置编码\n\n旋转位置编码 RoPE 通过旋转查询和键向量来表示相对位置。\n".encode()
    created = files.create(file=("../../rope-notes.md", note), purpose="assistants")
    assert (
        created.id == "uploads/rope-notes.md" and (folder / "docs/uploads/rope-notes.md").exists()
    )
    assert not (folder.parent / "rope-notes.md").exists()
    assert "uploads/rope-notes.md" in [f.id for f in files.list().data]
    reply = ask(base_url, "RoPE 怎么表示相对位置？", sources=["uploads/rope-notes.md"])
    assert {s["source"] for s in reply.model_extra["sources"]} == {"uploads/rope-notes.md"}
    assert files.delete("uploads/rope-notes.md").deleted
    assert "uploads/rope-notes.md" not in [f.id for f in files.list().data]
    with pytest.raises(openai.NotFoundError):
        files.delete("uploads/rope-notes.md")
    with pytest.raises(openai.BadRequestError, match="unsupported file type '.exe'"):
        files.create(file=("tool.exe", b"MZ"), purpose="assistants")
    with pytest.raises(openai.UnprocessableEntityError, match="cannot read PDF"):
        files.create(file=("broken.pdf", b"%PDF-1.7\nnot really a pdf"), purpose="assistants")
    assert not (folder / "docs/uploads/broken.pdf").exists()  # a refused upload leaves nothing
    with pytest.raises(openai.APIStatusError, match="larger than the upload limit") as caught:
        files.create(file=("big.txt", b"x" * 60_000), purpose="assistants")
    assert caught.value.status_code == 413 and not (folder / "docs/uploads/big.txt").exists()


HOSTILE_NAMES = [  # (name sent, where it must land under uploads/, or None: refused)
    ("../../etc/passwd", None),
    ("a/../../b.txt", "b.txt"),
    (".bashrc", None),
    ("x" * 300 + ".md", "x" * 197 + ".md"),
    ("evil\x00.txt", "evil.txt"),
    ("invoice\u202etxt.md", "invoicetxt.md"),
]


def upload_raw(base_url: str, name: str, data: bytes) -> httpx.Response:
    """POST /v1/files with `name` in the multipart header byte for byte (client libraries
    escape some characters, such as NUL, before a server could see them)."""
    boundary = "ragchat-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    return httpx.post(f"{base_url}/files", content=body, headers=headers, timeout=300)


def test_hostile_upload_names_land_inside_uploads_or_are_refused(api):
    base_url, _, folder = api

    def outside() -> list[Path]:  # every file but the uploads, the index and the server's log
        index = folder / "index"
        return sorted(
            p for p in folder.rglob("*") if "uploads" not in p.parts and index not in p.parents
        )

    before = outside()
    for sent, saved in HOSTILE_NAMES:
        reply = upload_raw(base_url, sent, f"安全的文件名 {saved}".encode())
        if saved is None:
            assert reply.status_code == 400, reply.text
            assert "unsupported file type" in reply.json()["error"]["message"]
            continue
        assert reply.status_code == 200 and reply.json()["id"] == f"uploads/{saved}", reply.text
        assert (folder / "docs" / "uploads" / saved).is_file()
        client(base_url).files.delete(f"uploads/{saved}")
    assert outside() == before


def test_an_upload_never_replaces_another_file(api):
    base_url, _, folder = api
    files = client(base_url).files
    first = files.create(file=("same.md", "第一份笔记：词嵌入。".encode()), purpose="assistants")
    again = files.create(file=("same.md", "第一份笔记：词嵌入。".encode()), purpose="assistants")
    other = files.create(file=("same.md", "第二份笔记：注意力。".encode()), purpose="assistants")
    assert (first.id, again.id, other.id) == (
        "uploads/same.md",
        "uploads/same.md",
        "uploads/same-2.md",
    )
    uploads = folder / "docs" / "uploads"
    assert (uploads / "same.md").read_text() == "第一份笔记：词嵌入。"
    assert (uploads / "same-2.md").read_text() == "第二份笔记：注意力。"
    for name in (first.id, other.id):
        files.delete(name)


def test_four_clients_at_once_get_the_answers_they_get_alone(api):
    base_url, _, _ = api
    alone = [ask(base_url, q).choices[0].message.content for q in QUESTIONS]
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        together = list(pool.map(lambda q: ask(base_url, q).choices[0].message.content, QUESTIONS))
    assert together == alone


def test_the_faces_agree(api):
    """ask.py --json, the API and the app give one question the same passages and answer."""
    from streamlit.testing.v1 import AppTest

    base_url, config, folder = api
    question = "加一平滑的分母要加上什么？"
    cli = subprocess.run(
        [sys.executable, str(REPO / "ask.py"), "--config", str(config), "--json", question],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert cli.returncode == 0, cli.stderr
    from_cli = json.loads(cli.stdout)
    from_api = ask(base_url, question)
    os.environ["RAGCHAT_CONFIG"] = str(config)
    try:
        app = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
        app.chat_input[0].set_value(question).run()
        turn = app.session_state["turns"][0]
    finally:
        del os.environ["RAGCHAT_CONFIG"]
    texts = [from_cli["text"], from_api.choices[0].message.content, turn["answer"]]
    passages = [
        [s["id"] for s in from_cli["sources"]],
        [(s["source"], s["start"]) for s in from_api.model_extra["sources"]],
        [s["id"] for s in turn["sources"]],
    ]
    assert texts[0] and texts[0] == texts[1] == texts[2]
    assert passages[0] == passages[2]
    assert passages[1] == [(s["source"], s["start"]) for s in from_cli["sources"]]


def test_a_client_that_hangs_up_while_waiting_gives_up_its_turn(api):
    """B waits behind A and is told so; B disconnects; once A is answered nothing is left
    running (B's answer would take over a second of model time)."""
    import threading

    import httpx

    base_url, _, _ = api
    health = base_url.removesuffix("/v1") + "/health"

    def queued() -> int:
        return json.load(urllib.request.urlopen(health))["queued"]

    first = threading.Thread(target=ask, args=(base_url, "加一平滑的分母要加上什么？"))
    first.start()
    deadline = time.monotonic() + 30
    while queued() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    body = {
        "model": "local",
        "stream": True,
        "messages": [{"role": "user", "content": "什么是困惑度？"}],
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.stream(
        "POST", f"{base_url}/chat/completions", json=body, headers=headers, timeout=60
    ) as response:
        lines = response.iter_lines()
        waiting = next(line for line in lines if line.startswith(":"))
    assert waiting == ": waiting for the model, 1 ahead"
    first.join(120)
    deadline = time.monotonic() + 0.5
    while queued() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert queued() == 0
