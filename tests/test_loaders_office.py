"""The office formats (PDF with a text layer, Word, Excel, CSV, PowerPoint): each read back from
a file made here, Chinese included, tables as rows that windows never split, and each kind of
broken file refused with a reason. Scans and pictures: tests/test_loaders_ocr.py."""

import datetime
import io
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from loaders import LoaderError, load_document
from loaders.chunking import SlidingWindowSplitter

HEADER = ["姓名", "科目", "分数", "日期"]
SCORES = [
    ["张三", "数学", 92.0, datetime.datetime(2024, 3, 1)],
    ["李四", "语文", 88.5, datetime.datetime(2024, 3, 2)],
    ["王五", "英语", 75, datetime.datetime(2024, 3, 3)],
]
SCORE_LINES = [
    "姓名: 张三; 科目: 数学; 分数: 92; 日期: 2024-03-01",
    "姓名: 李四; 科目: 语文; 分数: 88.5; 日期: 2024-03-02",
    "姓名: 王五; 科目: 英语; 分数: 75; 日期: 2024-03-03",
]


def _chunks(document, size=400, overlap=40, tolerance=40):
    return list(SlidingWindowSplitter(size, overlap, tolerance).chunk_document(document))


def test_pdf_pages_are_kept(tmp_path):
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page_text in ["Bigram models count word pairs.", "Smoothing moves probability mass."]:
        pdf.add_page()
        pdf.cell(text=page_text)
    path = tmp_path / "two-pages.pdf"
    pdf.output(str(path))
    document = load_document(path, "two-pages.pdf")
    text, offsets = document.page_content, document.metadata["page_offsets"]
    assert len(offsets) == 2
    assert text[offsets[1] :].startswith("Smoothing")
    assert "Bigram" in text[: offsets[1]]


def test_docx_paragraphs_and_tables(tmp_path):
    document = docx.Document()
    document.add_paragraph("LoRA 冻结原始权重。")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "rank"
    table.rows[0].cells[1].text = "8"
    path = tmp_path / "lora.docx"
    document.save(str(path))
    text = load_document(path, "lora.docx").page_content
    assert "LoRA 冻结原始权重。" in text
    assert "rank | 8" in text


def _workbook(path: Path) -> None:
    workbook = openpyxl.Workbook()
    scores = workbook.active
    scores.title = "成绩"
    for row in [HEADER, *SCORES]:
        scores.append(row)
    prices = workbook.create_sheet("Prices")
    prices.append(["item", "price", None])  # a third column without a header
    prices.append([None, None, None])  # an empty row
    prices.append(["苹果 apple", 3.5, "fresh\nfrom Yantai"])
    workbook.save(path)


def test_xlsx_rows_keep_their_header_and_sheets_are_pages(tmp_path):
    path = tmp_path / "scores.xlsx"
    _workbook(path)
    document = load_document(path, path.name)
    text, offsets = document.page_content, document.metadata["page_offsets"]
    first_sheet, second_sheet = text[: offsets[1]], text[offsets[1] :]
    assert first_sheet.strip().split("\n") == SCORE_LINES
    assert second_sheet == "item: 苹果 apple; price: 3.5; column 3: fresh from Yantai"
    assert document.metadata["page_labels"] == ["成绩", "Prices"]
    chunks = _chunks(document, size=120, overlap=20, tolerance=20)
    pages = {(c.metadata["page"], c.metadata["page_label"]) for c in chunks}
    assert pages == {(1, "成绩"), (2, "Prices")}
    assert all("ocr" not in c.metadata and "row_offsets" not in c.metadata for c in chunks)


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_gbk_csv_is_decoded_and_read_as_rows(tmp_path, delimiter):
    lines = [HEADER] + [[name, subject, str(score), "2024"] for name, subject, score, _ in SCORES]
    raw = "\r\n".join(delimiter.join(cells) for cells in lines) + "\r\n"
    path = tmp_path / "scores.csv"
    path.write_bytes(raw.encode("gbk"))
    document = load_document(path, path.name)
    assert document.page_content.split("\n")[0] == "姓名: 张三; 科目: 数学; 分数: 92.0; 日期: 2024"
    assert len(document.page_content.split("\n")) == len(SCORES)
    assert "page_offsets" not in document.metadata
    assert all("page" not in c.metadata for c in _chunks(document))


def test_csv_quoted_fields_with_delimiters_and_newlines(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('topic,note\nRAG,"retrieve, then\ngenerate"\n', encoding="utf-8")
    text = load_document(path, path.name).page_content
    assert text == "topic: RAG; note: retrieve, then generate"


def test_pptx_slides_are_pages(tmp_path):
    presentation = pptx.Presentation()
    layout = presentation.slide_layouts[1]  # title and content
    first = presentation.slides.add_slide(layout)
    first.shapes.title.text = "检索增强生成"
    first.placeholders[1].text = "先检索相关段落\n再让模型回答"
    first.notes_slide.notes_text_frame.text = "讲者备注：强调引用。"
    second = presentation.slides.add_slide(presentation.slide_layouts[5])  # title only
    second.shapes.title.text = "Results"
    inch = 914400
    table = second.shapes.add_table(3, 2, inch, 2 * inch, 6 * inch, inch).table
    for r, row in enumerate([["方法", "准确率"], ["BM25", "0.61"], ["混合检索", "0.74"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    path = tmp_path / "talk.pptx"
    presentation.save(path)

    document = load_document(path, path.name)
    text, offsets = document.page_content, document.metadata["page_offsets"]
    assert len(offsets) == 2
    slide_one, slide_two = text[: offsets[1]], text[offsets[1] :]
    assert slide_one.strip().split("\n") == [
        "检索增强生成",
        "先检索相关段落",
        "再让模型回答",
        "讲者备注:强调引用。",  # NFKC: the full-width colon
    ]
    assert slide_two.split("\n") == [
        "Results",
        "方法: BM25; 准确率: 0.61",
        "方法: 混合检索; 准确率: 0.74",
    ]
    chunks = _chunks(document, size=30, overlap=0, tolerance=10)
    assert chunks[0].metadata["page"] == 1 and chunks[-1].metadata["page"] == 2


def test_rows_are_never_split_across_windows(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["编号", "问题", "答案"])
    for n in range(60):
        sheet.append([n, "什么是注意力机制?" * (1 + n % 3), "它让模型关注相关的词。" * (1 + n % 4)])
    path = tmp_path / "faq.xlsx"
    workbook.save(path)
    document = load_document(path, path.name)
    rows = set(document.page_content.split("\n"))
    longest = max(len(row) for row in rows)
    chunks = _chunks(document, size=longest + 30, overlap=40, tolerance=10)
    assert len(chunks) > 10
    for chunk in chunks:
        start, end = chunk.metadata["start"], chunk.metadata["end"]
        assert document.page_content[start:end] == chunk.page_content
        assert set(chunk.page_content.split("\n")) <= rows


_ROW = st.text(alphabet="表格行内容abc 123;,。:", min_size=1, max_size=40).map(str.strip)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ROW.filter(bool), min_size=1, max_size=40), st.data())
def test_windows_over_rows_hold_whole_rows(rows, data):
    text = "\n".join(rows)
    boundaries = [0]
    for row in rows[:-1]:
        boundaries.append(boundaries[-1] + len(row) + 1)
    size = data.draw(st.integers(max(2, *(len(row) for row in rows)), 120))
    overlap = data.draw(st.integers(0, size - 2))
    tolerance = data.draw(st.integers(0, size - overlap - 1))
    windows = list(SlidingWindowSplitter(size, overlap, tolerance).windows(text, boundaries))
    ends = {start + len(row) for start, row in zip(boundaries, rows, strict=True)}
    for start, end in windows:
        assert 0 < end - start <= size
        assert start in boundaries and end in ends
    covered = {i for start, end in windows for i in range(start, end)}
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    starts, stops = [start for start, _ in windows], [end for _, end in windows]
    assert starts == sorted(set(starts)) and stops == sorted(set(stops))


def test_a_row_that_does_not_fit_after_the_overlap_rows_starts_the_next_window():
    """From the overlap's first row ("1" at 2) the window could only end where the last one
    did (found by hypothesis): it starts at the row past that end instead."""
    windows = SlidingWindowSplitter(4, 2, 0).windows("1\n1\n111", [0, 2, 4])
    assert list(windows) == [(0, 3), (4, 7)]


def _zip_with(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _saved(make) -> bytes:
    buffer = io.BytesIO()
    make(buffer)
    return buffer.getvalue()


def _encrypted_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="secret")
    pdf.set_encryption(owner_password="owner", user_password="user")
    return bytes(pdf.output())


_OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
_XLSX = _saved(openpyxl.Workbook().save)
_PPTX = _saved(pptx.Presentation().save)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("locked.pdf", _encrypted_pdf(), "password-protected PDF"),
        ("broken.pdf", b"%PDF-1.4\n garbage\n", "cannot read PDF"),
        ("book.xlsx", b"name,score\n", "not a valid Excel workbook"),
        ("book.xlsx", _OLE_HEADER, "password-protected Excel workbook"),
        ("book.xlsx", _XLSX[: len(_XLSX) // 2], "corrupt or truncated Excel workbook"),
        ("book.xlsx", _zip_with("hello.txt", b"hi"), "incomplete Excel workbook"),
        ("book.xlsx", _XLSX, "no text found"),
        ("table.csv", b"a,b\x00\x01\x02", "binary file"),
        ("table.csv", b"", "no text found"),
        ("table.csv", b'a,b\n"' + b"x" * 200_000 + b'"\n', "malformed CSV"),
        ("talk.pptx", b"<html>not slides</html>", "not a valid PowerPoint presentation"),
        ("talk.pptx", _OLE_HEADER, "password-protected PowerPoint presentation"),
        ("talk.pptx", _PPTX[: len(_PPTX) // 3], "corrupt or truncated PowerPoint"),
        ("talk.pptx", _PPTX, "no text found"),
    ],
)
def test_broken_files_are_refused_with_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoaderError, match=reason):
        load_document(path, name)
