"""Named knowledge bases: names, the catalog, separate indexes, and the faces that pick one
(CLI, API through the official `openai` client). Real embedders, real FAISS, the real model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from config import ChunkingSettings
from history.store import HistoryStore
from index.catalog import (
    DEFAULT_KB,
    KnowledgeBaseCatalog,
    KnowledgeBaseError,
    KnowledgeBaseNotFoundError,
    check_name,
)
from index.filters import ChunkFilter
from index.manifest import read_embedder_identity
from index.versions import current_version
from services.answering import AnswerOptions
from services.container import ServiceHub
from tests.support.notes import OPTICS, QUESTION, write_optics
from tests.support.paths import REPO, SAMPLE_DIR
from tests.support.processes import KEY, index_and_serve, write_config


@pytest.mark.parametrize(
    "name",
    [
        "a/b",
        "../up",
        "..",
        "x\\y",
        "bad\x00name",
        "tab\there",
        "rtl\u202eevil",
        "",
        "  ",
        ".hidden",
        " lead",
        "trail ",
        "dot.",
        "x" * 65,
        "ｆｕｌｌ",
    ],
)
def test_unsafe_names_are_refused_with_the_reason(name):
    with pytest.raises(KnowledgeBaseError) as refused:
        check_name(name)
    assert "use letters, digits" in str(refused.value)


@pytest.mark.parametrize("name", ["course-notes", "课程笔记", "papers 2026", "v1.2_manual"])
def test_plain_names_in_any_script_are_allowed(name):
    assert check_name(name) == name


def test_catalog_creates_renames_deletes_and_keeps_the_default(make_settings, tmp_path):
    catalog = KnowledgeBaseCatalog(make_settings())
    assert catalog.names() == [DEFAULT_KB]
    manual = write_optics(tmp_path / "manual")
    created = catalog.create(
        "physics", [manual], ChunkingSettings(size=200, overlap=40, boundary_tolerance=20)
    )
    assert created.paths.documents == manual.resolve()
    assert created.paths.index == tmp_path / "knowledge_bases" / "physics" / "index"
    assert created.chunking.size == 200
    assert catalog.settings_for(DEFAULT_KB).chunking.size == 500  # the config's own
    catalog.create("notes")  # its own documents folder
    assert catalog.settings_for("notes").paths.documents.is_dir()
    assert catalog.names() == [DEFAULT_KB, "notes", "physics"]
    with pytest.raises(KnowledgeBaseError, match="already exists"):
        catalog.create("notes")
    (catalog.folder / "taken").mkdir()
    (catalog.folder / "taken" / "a file of the user's").write_text("kept", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="cannot rename 'notes' to 'taken'"):
        catalog.rename("notes", "taken")
    assert (catalog.folder / "taken" / "a file of the user's").read_text(encoding="utf-8")
    catalog.rename("notes", "课程笔记")
    assert catalog.names() == [DEFAULT_KB, "physics", "课程笔记"]
    with pytest.raises(KnowledgeBaseNotFoundError, match="available: default, physics, 课程笔记"):
        catalog.settings_for("notes")
    for refused in (lambda: catalog.delete(DEFAULT_KB), lambda: catalog.rename(DEFAULT_KB, "x")):
        with pytest.raises(KnowledgeBaseError, match="default knowledge base cannot"):
            refused()
    catalog.delete("physics")
    assert catalog.names() == [DEFAULT_KB, "课程笔记"]
    assert manual.is_dir() and (manual / "optics.md").is_file()  # named folders stay


def test_two_users_creating_one_name_at_once_get_one_knowledge_base(make_settings):
    catalog = KnowledgeBaseCatalog(make_settings())
    barrier = threading.Barrier(8)

    def create() -> str:
        barrier.wait()
        try:
            catalog.create("shared")
        except KnowledgeBaseError as err:
            return str(err)
        return "created"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: create(), range(8)))
    assert outcomes.count("created") == 1
    assert all("already exists" in o for o in outcomes if o != "created")
    assert sorted(p.name for p in catalog.folder.iterdir()) == ["shared"]  # no leftovers


def test_conversations_follow_a_renamed_knowledge_base(make_settings):
    settings = make_settings()
    knowledge_bases = ServiceHub(settings).knowledge_bases
    knowledge_bases.create("notes")
    history = HistoryStore(settings.paths.history)
    kept = history.create("什么是困惑度？", DEFAULT_KB, "local")
    moved = history.create("What is a wave?", "notes", "local")
    knowledge_bases.rename("notes", "physics")
    assert (history.get(moved).kb, history.get(kept).kb) == ("physics", DEFAULT_KB)
    knowledge_bases.delete("physics")
    assert knowledge_bases.names() == [DEFAULT_KB]


def test_kb_cli_rename_carries_the_stored_conversations(tmp_path):
    """`python kb.py rename` goes through the knowledge-base service, as the app and the API
    do: the conversations about the knowledge base follow it to its new name."""
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\ndocuments = "{SAMPLE_DIR}"\n', encoding="utf-8")
    assert run_cli("kb.py", "create", "notes", config=config).returncode == 0
    history = HistoryStore(tmp_path / ".ragchat" / "history.sqlite3")
    kept = history.create("什么是困惑度？", DEFAULT_KB, "local")
    moved = history.create("What is a wave?", "notes", "local")
    renamed = run_cli("kb.py", "rename", "notes", "physics", config=config)
    assert renamed.returncode == 0, renamed.stderr
    assert "renamed knowledge base 'notes' to 'physics'" in renamed.stdout
    assert (history.get(moved).kb, history.get(kept).kb) == ("physics", DEFAULT_KB)
    refused = run_cli("kb.py", "rename", "notes", "optics", config=config)
    assert refused.returncode == 1 and "no knowledge base named 'notes'" in refused.stderr


def test_an_index_of_the_previous_version_is_the_default_knowledge_base(tmp_path, make_settings):
    """tests/data/previous_version: two notes of ours and the index ragchat 40a3b2a (before
    knowledge bases and metadata) wrote of them."""
    previous = shutil.copytree(REPO / "tests" / "data" / "previous_version", tmp_path / "old")
    settings = make_settings(documents=previous / "docs")
    settings.paths.index = previous / "index"
    hub = ServiceHub(settings)
    question = "多头注意力的各个头的输出怎么合并？"
    found = hub.service(with_model=False).retrieve(question, AnswerOptions(k=1))
    assert found[0].metadata["source"] == "注意力.md"

    report = hub.ingest(on_message=lambda _: None)  # adds the metadata, reuses the vectors
    assert (report.count("updated"), report.embedded) == (2, 0)
    upgraded = hub.knowledge_bases.open()
    assert set(upgraded.sentence_vectors) == set(upgraded.ids)  # only the sentences embedded
    english = ChunkFilter(languages=frozenset({"en"}))
    only_english = hub.service(with_model=False).retrieve(question, AnswerOptions(filter=english))
    assert [d.metadata["source"] for d in only_english] == ["tokenizers.txt"]


def test_a_corrupt_kb_file_is_named_in_the_error(make_settings):
    catalog = KnowledgeBaseCatalog(make_settings())
    catalog.create("broken")
    (catalog.folder / "broken" / "kb.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError, match="kb.json: cannot read"):
        catalog.settings_for("broken")


def test_questions_never_cross_knowledge_bases(make_settings, docs, minilm):
    """Each knowledge base searches only its own index, with its own chunking and embedder."""
    hub = ServiceHub(make_settings(documents=docs))
    hub.knowledge_bases.create(
        "physics", embedding_backend="sentence-transformers", embedding_model=minilm.identity.model
    )
    write_optics(hub.knowledge_bases.settings_for("physics").paths.documents)
    hub.ingest(on_message=lambda _: None)
    hub.ingest(on_message=lambda _: None, kb="physics")

    sample_files = {path.name for path in SAMPLE_DIR.iterdir()}
    for question in (QUESTION, "What is the refractive index?", "折射率"):
        in_physics = hub.service(with_model=False, kb="physics").retrieve(
            question, AnswerOptions(k=4)
        )
        in_default = hub.service(with_model=False).retrieve(question, AnswerOptions(k=4))
        assert {d.metadata["source"] for d in in_physics} <= set(OPTICS)
        assert {Path(d.metadata["source"]).name for d in in_default} <= sample_files
        assert in_physics and in_default
    physics_index = current_version(hub.knowledge_bases.settings_for("physics").paths.index)
    assert read_embedder_identity(physics_index).model == minilm.identity.model
    stats = hub.knowledge_bases.stats("physics")
    assert (stats.files, stats.chunks > 0, stats.problem) == (2, True, "")


def run_cli(script: str, *args: str, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / script), "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_manages_indexes_and_asks_one_knowledge_base(tmp_path):
    config = write_config(tmp_path, SAMPLE_DIR)
    optics = write_optics(tmp_path / "optics")
    created = run_cli("kb.py", "create", "physics", str(optics), config=config)
    assert created.returncode == 0, created.stderr
    assert "python ingest.py --kb physics" in created.stdout
    refused = run_cli("kb.py", "create", "../escape", config=config)
    assert refused.returncode == 1 and "not allowed" in refused.stderr
    assert "Traceback" not in refused.stderr
    unknown = run_cli("ingest.py", "--kb", "nope", config=config)
    assert unknown.returncode == 1 and "no knowledge base named 'nope'" in unknown.stderr
    assert "python kb.py create nope" in unknown.stderr

    not_yet = run_cli("ask.py", "--kb", "physics", QUESTION, config=config)
    assert not_yet.returncode == 1 and "build it with `python ingest.py --kb physics`" in (
        not_yet.stderr
    )
    checked = run_cli("ingest.py", "--kb", "physics", "--check", config=config)
    assert checked.returncode == 2 and "`python ingest.py --kb physics`" in checked.stdout
    ingested = run_cli("ingest.py", "--kb", "physics", "--quiet", config=config)
    assert ingested.returncode == 0, ingested.stderr
    assert "2 added" in ingested.stdout
    listed = run_cli("kb.py", "list", config=config)
    physics_row = next(line for line in listed.stdout.splitlines() if line.startswith("physics"))
    assert physics_row.split()[1] == "2"  # files
    assert listed.stdout.splitlines()[1].startswith("default")
    assert f"physics: documents in {optics.resolve()}" in listed.stdout

    qa = tmp_path / "optics_qa.jsonl"
    qa.write_text(
        json.dumps({"question": "光密介质", "answer": "全反射只在光从光密介质射向光疏介质时发生"})
        + "\n",
        encoding="utf-8",
    )
    evaluated = run_cli(
        "evaluate.py", "--kb", "physics", "--qa", str(qa), "--mode", "bm25", config=config
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout.splitlines()[-1])["hit_at_1"] == 1.0

    asked = run_cli("ask.py", "--kb", "physics", "--json", QUESTION, config=config)
    assert asked.returncode == 0, asked.stderr
    sources = {card["source"] for card in json.loads(asked.stdout)["sources"]}
    assert sources and sources <= set(OPTICS)

    unconfirmed = run_cli("kb.py", "delete", "physics", config=config)
    assert unconfirmed.returncode == 2 and "--yes" in unconfirmed.stderr
    deleted = run_cli("kb.py", "delete", "physics", "--yes", config=config)
    assert deleted.returncode == 0
    assert "physics" not in run_cli("kb.py", "list", config=config).stdout
    assert (optics / "optics.md").is_file()


@pytest.fixture(scope="module")
def api_two_kbs(tmp_path_factory):
    """serve.py with the sample notes indexed in the default knowledge base and none yet in
    the others."""
    folder = tmp_path_factory.mktemp("api_kbs")
    process, base_url = index_and_serve(write_config(folder, SAMPLE_DIR), folder)
    yield openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0), base_url, folder
    process.terminate()
    process.wait(timeout=30)


def test_api_creates_fills_and_answers_from_one_knowledge_base(api_two_kbs):
    client, base_url, folder = api_two_kbs
    headers = {"Authorization": f"Bearer {KEY}"}
    created = httpx.post(f"{base_url}/knowledge_bases", json={"name": "physics"}, headers=headers)
    assert created.status_code == 200 and created.json()["id"] == "physics"
    bad = httpx.post(f"{base_url}/knowledge_bases", json={"name": "a/b"}, headers=headers)
    assert bad.status_code == 400 and "not allowed" in bad.json()["error"]["message"]

    for name, text in OPTICS.items():
        uploaded = client.files.create(
            file=(name, text.encode()), purpose="assistants", extra_body={"kb": "physics"}
        )
        assert uploaded.status == "processed"
    in_physics = {f.filename for f in client.files.list(extra_query={"kb": "physics"})}
    assert in_physics == {f"uploads/{name}" for name in OPTICS}
    assert not in_physics & {f.filename for f in client.files.list()}

    for kb, allowed in (("physics", in_physics), (DEFAULT_KB, None)):
        reply = client.chat.completions.create(
            model="local",
            messages=[{"role": "user", "content": QUESTION}],
            extra_body={"kb": kb, "k": 3},
        )
        sources = {s["source"] for s in reply.model_extra["sources"]}
        assert sources
        if allowed:
            assert sources <= allowed
        else:
            assert not sources & in_physics

    with pytest.raises(openai.NotFoundError, match="no knowledge base named 'nope'"):
        client.chat.completions.create(
            model="local", messages=[{"role": "user", "content": "hi"}], extra_body={"kb": "nope"}
        )
    with pytest.raises(openai.NotFoundError):  # not in the default knowledge base
        client.files.delete("uploads/waves.txt")
    assert client.files.delete("uploads/waves.txt", extra_query={"kb": "physics"}).deleted
    listed = httpx.get(f"{base_url}/knowledge_bases", headers=headers).json()["data"]
    assert [(row["id"], row["files"]) for row in listed] == [(DEFAULT_KB, 7), ("physics", 1)]
    renamed = httpx.patch(
        f"{base_url}/knowledge_bases/physics", json={"name": "optics"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["files"] == 1
    deleted = httpx.delete(f"{base_url}/knowledge_bases/optics", headers=headers)
    assert deleted.status_code == 200
    gone = httpx.delete(f"{base_url}/knowledge_bases/optics", headers=headers)
    assert gone.status_code == 404
