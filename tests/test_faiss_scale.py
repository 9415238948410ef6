"""The FAISS store read by row (issue 32): memory-mapped segments, the approximate `hnsw`
vector index, BM25 from on-disk columns scoring exactly as the in-process `Bm25Index`, and
segments written by the previous version still opening."""

from __future__ import annotations

import base64
import json
import shutil
from collections import Counter
from pathlib import Path

import faiss
import numpy as np
import pytest

from config import Settings, StoreSettings
from index.bm25 import Bm25Index
from index.check import check_index
from index.errors import IndexCorruptError
from index.knowledge_base import KnowledgeBase
from index.manifest import read_manifest, write_manifest
from index.records import chunk_language
from index.stores.faiss import parts
from index.stores.faiss.segment_files import (
    DOCSTORE_FILE,
    IDS_FILE,
    SEGMENTS,
    TERM_ROWS_FILE,
    VECTORS_FILE,
    is_legacy,
    segment_folders,
)
from index.stores.faiss.segments import FaissSegments
from index.updater import ingest
from index.versions import current_version, load_index, save_index
from tests.support.fakes import fake_embedder
from tests.support.paths import DATA

VECTOR_INDEXES = ["flat", "hnsw"]


def run(settings: Settings, embedder) -> None:
    ingest(settings, embedder, show_progress=False, on_message=lambda _: None)


def questions(*names: str) -> list[str]:
    return [
        json.loads(line)["question"]
        for name in names
        for line in (DATA / name).read_text(encoding="utf-8").splitlines()
    ]


def assert_bm25_as_in_process(knowledge_base: KnowledgeBase, queries: list[str]) -> None:
    """Every query ranks the chunks as `Bm25Index` over the live records does, unfiltered and
    within a filter (the statistics stay the whole corpus')."""
    records = list(knowledge_base.store.records())
    reference = Bm25Index([r["terms"] for r in records])
    allowed = {r["id"] for r in records[::3]}
    mask = np.array([r["id"] in allowed for r in records])
    for query in queries:
        expected = [records[row]["id"] for row, _ in reference.search(query, 20)]
        assert knowledge_base.keyword_search(query, 20) == expected, query
        within = [records[row]["id"] for row, _ in reference.search(query, 20, mask)]
        assert knowledge_base.keyword_search(query, 20, allowed) == within, query


def exact_top(knowledge_base: KnowledgeBase, vector: np.ndarray, k: int) -> list[str]:
    ids = knowledge_base.ids
    stored = knowledge_base.vectors_by_id(ids)
    scores = np.stack([stored[i] for i in ids]) @ vector
    return [ids[row] for row in np.argsort(-scores, kind="stable")[:k]]


@pytest.mark.parametrize("vector_index", VECTOR_INDEXES)
def test_updates_and_removals_answer_as_exact_search_and_in_process_bm25(
    vector_index, docs, make_settings
):
    embedder = fake_embedder()
    settings = make_settings(docs, store=StoreSettings(vector_index=vector_index))
    run(settings, embedder)
    (docs / "rag.md").write_text(
        (docs / "rag.md").read_text(encoding="utf-8") + "\n\n新增：重排序提升检索精度。\n"
    )
    (docs / "smoothing.md").unlink()
    run(settings, embedder)  # a second segment; smoothing.md's rows dead in the first

    knowledge_base = load_index(settings.paths.index, embedder, settings.store)
    knowledge_base.check_consistent()
    assert len(segment_folders(current_version(settings.paths.index), knowledge_base.manifest)) == 2
    assert set(knowledge_base.ids) == knowledge_base.manifest.chunk_ids()
    records = list(knowledge_base.store.records())
    assert not any(r["metadata"]["source"] == "smoothing.md" for r in records)
    for query in questions("sample_qa.jsonl")[:10]:
        vector = np.asarray(embedder.embeddings.embed_query(query), dtype=np.float32)
        assert knowledge_base.search(vector, 5) == exact_top(knowledge_base, vector, 5)
    assert_bm25_as_in_process(knowledge_base, questions("sample_qa.jsonl"))
    languages = Counter(chunk_language(r["metadata"], r["text"]) for r in records)
    assert knowledge_base.store.language_counts() == languages
    assert [dict(m) for m in knowledge_base.metadatas()] == [r["metadata"] for r in records]
    some = [r["id"] for r in records[::5]]
    fetched = knowledge_base.store.fetch(some)
    assert all(isinstance(fetched[i]["sentences"], bytes) for i in some)  # no base64 round trip
    dimension = embedder.identity.dimension
    assert all(knowledge_base.sentence_vectors_of(i).shape[1] == dimension for i in some)


def test_a_segment_is_written_in_the_configured_vector_index(docs, make_settings):
    embedder = fake_embedder()
    for choice, index_class in [
        (StoreSettings(vector_index="hnsw", hnsw_ef_construction=64), faiss.IndexHNSWFlat),
        (StoreSettings(vector_index="auto", approximate_from=10), faiss.IndexHNSWFlat),
        (StoreSettings(vector_index="auto"), faiss.IndexFlatIP),
    ]:
        settings = make_settings(docs, store=choice)
        shutil.rmtree(settings.paths.index, ignore_errors=True)
        run(settings, embedder)
        version = current_version(settings.paths.index)
        (segment,) = segment_folders(version, read_manifest(version))
        index = faiss.read_index(str(segment / VECTORS_FILE))
        assert type(index) is index_class
        if index_class is faiss.IndexHNSWFlat:  # built with the configured graph width
            assert index.hnsw.efConstruction == choice.hnsw_ef_construction


def test_keyword_search_ranks_the_seeds_as_in_process_bm25_after_removals(
    seeds_dir, tmp_path, make_settings
):
    embedder = fake_embedder()
    docs = shutil.copytree(seeds_dir, tmp_path / "seeds")
    settings = make_settings(docs)
    run(settings, embedder)
    for removed in sorted(docs.iterdir())[::4]:
        removed.unlink()
    run(settings, embedder)
    knowledge_base = load_index(settings.paths.index, embedder)
    assert_bm25_as_in_process(knowledge_base, questions("seeds_qa_zh.jsonl", "seeds_qa_en.jsonl"))


def test_opening_reads_no_chunk_and_a_fetch_only_the_rows_asked(docs, make_settings, monkeypatch):
    embedder = fake_embedder()
    settings = make_settings(docs)
    run(settings, embedder)
    reads: Counter[str] = Counter()

    def spy(name, read):
        def counted(*args, **kwargs):
            reads[name] += 1
            return read(*args, **kwargs)

        return counted

    monkeypatch.setattr(parts, "chunk_record", spy("record", parts.chunk_record))
    monkeypatch.setattr(parts, "read_terms", spy("terms", parts.read_terms))
    for method in ("sentences", "column", "metadatas"):
        monkeypatch.setattr(parts.Segment, method, spy(method, getattr(parts.Segment, method)))
    knowledge_base = load_index(settings.paths.index, embedder)
    assert knowledge_base.vector_count > 0 and not reads  # nothing of any chunk read

    wanted = knowledge_base.ids[3:5]
    assert set(knowledge_base.documents_by_id(wanted)) == set(wanted)
    assert reads == {"record": 2, "sentences": 2}


def write_previous_segment(folder: Path, knowledge_base: KnowledgeBase) -> None:
    """The segment format before this one: vectors.faiss and docstore.jsonl, sentence vectors
    inside each line as base64."""
    folder.mkdir(parents=True)
    ids = knowledge_base.ids
    stored = knowledge_base.vectors_by_id(ids)
    index = faiss.IndexFlatIP(knowledge_base.identity.dimension)
    index.add(np.stack([stored[i] for i in ids]))
    faiss.write_index(index, str(folder / VECTORS_FILE))
    with open(folder / DOCSTORE_FILE, "w", encoding="utf-8") as docstore:
        for record in knowledge_base.store.records():
            sentences = record.get("sentences")
            if sentences is not None:
                record = {**record, "sentences": base64.b64encode(sentences).decode("ascii")}
            docstore.write(json.dumps(record, ensure_ascii=False) + "\n")


def test_a_segment_of_the_previous_version_opens_answers_the_same_and_is_rewritten(
    docs, make_settings
):
    embedder = fake_embedder()
    settings = make_settings(docs)
    run(settings, embedder)
    folder = settings.paths.index
    new = load_index(folder, embedder)
    version = current_version(folder)
    old_segment = folder / SEGMENTS / "s-20261201T000000-000000000-1"
    write_previous_segment(old_segment, new)
    manifest = read_manifest(version)
    manifest.store = {"backend": "faiss", "segments": {old_segment.name: new.vector_count}}
    write_manifest(version, manifest, new.identity)
    (current,) = (p for p in (folder / SEGMENTS).iterdir() if p != old_segment)
    shutil.rmtree(current)

    old = load_index(folder, embedder)
    assert old.ids == new.ids
    assert old.sentence_vectors == new.sentence_vectors
    query = "平滑方法有哪些？"
    vector = np.asarray(embedder.embeddings.embed_query(query), dtype=np.float32)
    assert old.search(vector, 5) == new.search(vector, 5)
    assert old.keyword_search(query, 5) == new.keyword_search(query, 5)

    save_index(old, folder)  # the next save writes it in the current format
    (segment,) = segment_folders(current_version(folder), read_manifest(current_version(folder)))
    assert not is_legacy(segment) and not old_segment.exists()
    assert load_index(folder, embedder).sentence_vectors == new.sentence_vectors


@pytest.mark.parametrize("damaged_file", [IDS_FILE, TERM_ROWS_FILE])
def test_a_damaged_new_file_is_named_by_opening_and_the_check(damaged_file, docs, make_settings):
    embedder = fake_embedder()
    settings = make_settings(docs)
    run(settings, embedder)
    version = current_version(settings.paths.index)
    (segment,) = segment_folders(version, read_manifest(version))
    path = segment / damaged_file
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(IndexCorruptError) as raised:
        load_index(settings.paths.index, embedder).keyword_search("平滑", 3)
    assert str(path) in str(raised.value)
    problems = check_index(settings, embedder).problems
    assert any(str(path) in problem for problem in problems), problems


def test_hnsw_finds_the_exact_top_ten_on_the_embedded_sample(sample_kb, tmp_path):
    """Recall@10 of the approximate index against exact search, on the sample notes as the
    bundled model embedded them; queries: midpoints of two chunks' vectors. (A small corpus:
    the benchmark measures recall at 10k to 1M chunks, docs/benchmarks.md.)"""
    ids = sample_kb.ids
    stored = sample_kb.vectors_by_id(ids)
    vectors = np.stack([stored[i] for i in ids])
    store = FaissSegments(vectors.shape[1], StoreSettings(vector_index="hnsw"))
    store.add(list(sample_kb.store.records()), vectors)
    store.save(tmp_path)
    assert isinstance(store.parts[0].index, faiss.IndexHNSW)
    rng = np.random.default_rng(5)
    recalls = []
    for first, second in rng.integers(len(ids), size=(40, 2)):
        query = vectors[first] + vectors[second]
        query /= np.linalg.norm(query)
        exact = {ids[row] for row in np.argsort(-(vectors @ query))[:10]}
        recalls.append(len(exact & set(store.search(query, 10, None))) / 10)
    assert np.mean(recalls) >= 0.95
