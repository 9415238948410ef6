"""Valid small files of every format ragchat reads, to start fuzzing from (`bench/fuzz.py`
mutates them; tests/test_fuzz_loaders.py also replays what the fuzzer found), and how a
reader's bug is worded when `load_document`'s last line of defence catches it."""

from __future__ import annotations

import codecs
import io
import sys
from collections.abc import Callable

NO_SEEDS = "no seed files"
CRASH_PREFIX = "loader crashed:"
"""How `load_document`'s last line of defence words a reader's bug: a finding, not a verdict."""

_CHINESE = "检索增强生成把文档切成窗口，再按问题找出最相关的几段。"
_ENGLISH = "Retrieval-augmented generation cuts documents into windows & ranks them <by> question."


def seeds(suffix: str) -> dict[str, bytes]:
    """Valid small files of the format `suffix` names, to start mutating from; a format with no
    maker here (a loader added since) starts from a few generic bytes."""
    maker = _SEED_MAKERS.get(suffix)
    if maker is None:
        print(f"{NO_SEEDS} for {suffix}: add one to evaluation/fuzz_seeds.py", file=sys.stderr)
        return {"generic": f"{_ENGLISH}\n{_CHINESE}\n".encode()}
    return maker()


def _text_seeds() -> dict[str, bytes]:
    text = f"# Notes\n\n{_ENGLISH}\n\n{_CHINESE}\n\n| a | b |\n|---|---|\n| 1 | ⼀ |\n"
    return {
        "utf8": text.encode("utf-8"),
        "utf8-bom": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf16-bom": text.encode("utf-16"),
        "gb18030": text.encode("gb18030"),
        "latin1": "Café crème, déjà vu: naïve façade.\n".encode("latin-1"),
    }


def _html_seeds() -> dict[str, bytes]:
    page = (
        "<!DOCTYPE html><html><head><meta charset='gbk'><title>t</title>"
        "<style>p{color:red}</style><script>var x = '<p>';</script></head><body>"
        f"<h1>{_CHINESE}</h1><p>{_ENGLISH} &amp; &#x4e2d; &nbsp;</p>"
        "<table><tr><td>a</td><td>b</td></tr></table><ul><li>one<li>two</ul>"
        "<svg><text>hidden</text></svg><!-- comment --></body></html>"
    )
    return {"gbk": page.encode("gbk"), "utf8": page.replace("gbk", "utf-8").encode("utf-8")}


def _pdf_seeds() -> dict[str, bytes]:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for page in ("First page: BM25 and dense retrieval.", "Second page: rank fusion."):
        pdf.add_page()
        pdf.multi_cell(0, 10, f"{page} {_ENGLISH}")
    return {"two-pages": bytes(pdf.output())}


def _docx_seeds() -> dict[str, bytes]:
    import docx

    document = docx.Document()
    document.add_heading("LoRA", level=1)
    document.add_paragraph(_ENGLISH)
    document.add_paragraph(_CHINESE)
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("r", "8"), ("alpha", "16")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    return {"paragraphs-table": _saved(document.save)}


def _xlsx_seeds() -> dict[str, bytes]:
    import datetime

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "模型"
    sheet.append(["name", "params", "released"])
    sheet.append(["Qwen2.5", 0.5, datetime.date(2024, 9, 19)])
    sheet.append(["MiniLM", 22.7, "=B2*2"])
    workbook.create_sheet("empty")
    return {"two-sheets": _saved(workbook.save)}


def _csv_seeds() -> dict[str, bytes]:
    rows = f'name,score,note\nbm25,0.97,"{_CHINESE}"\ne5,0.93,"a ""quoted"", note"\n'
    return {"comma": rows.encode(), "semicolon-gbk": rows.replace(",", ";").encode("gb18030")}


def _pptx_seeds() -> dict[str, bytes]:
    import pptx
    from pptx.util import Inches

    presentation = pptx.Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[1])
    slide.shapes.title.text = "Hybrid retrieval"
    slide.placeholders[1].text = _ENGLISH
    slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1)).table.cell(
        0, 0
    ).text = _CHINESE
    slide.notes_slide.notes_text_frame.text = "speaker notes"
    return {"slide": _saved(presentation.save)}


def _image_seeds(image_format: str) -> Callable[[], dict[str, bytes]]:
    def make() -> dict[str, bytes]:
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (320, 48), "white")
        ImageDraw.Draw(image).text((8, 16), "Rank fusion of BM25 and e5", fill="black")
        buffer = io.BytesIO()
        image.save(buffer, image_format)
        return {"text-line": buffer.getvalue()}

    return make


def _saved(save: Callable[[io.BytesIO], None]) -> bytes:
    buffer = io.BytesIO()
    save(buffer)
    return buffer.getvalue()


def _markdown_seeds() -> dict[str, bytes]:
    """Text, and text under YAML front matter (a title, tags in both YAML forms, a date)."""
    front = "---\ntitle: Notes\ntags: [exam, 复习]\nalso:\n  - a\n  - b\ndate: 2026-01-01\n---\n"
    return {**_text_seeds(), "front-matter": (front + f"# Notes\n\n{_CHINESE}\n").encode()}


_SEED_MAKERS: dict[str, Callable[[], dict[str, bytes]]] = {
    ".txt": _text_seeds,
    ".md": _markdown_seeds,
    ".markdown": _markdown_seeds,
    ".html": _html_seeds,
    ".htm": _html_seeds,
    ".pdf": _pdf_seeds,
    ".docx": _docx_seeds,
    ".xlsx": _xlsx_seeds,
    ".csv": _csv_seeds,
    ".pptx": _pptx_seeds,
    ".png": _image_seeds("PNG"),
    ".jpg": _image_seeds("JPEG"),
    ".jpeg": _image_seeds("JPEG"),
}
