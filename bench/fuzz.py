"""Fuzz one loader: libFuzzer (through atheris) mutates valid small files of a format, guided by
the code each input reaches, and every input must load to a Document or fail with a LoaderError.

Zip-based formats (.docx, .xlsx, .pptx) are mutated inside: one part's bytes, then zipped again
(mostly), so inputs get past the archive's checksums into the XML readers. The OCR model is
replaced by one that reads nothing (--ocr keeps it): what a hostile file attacks is the parsing
and decoding before it (pypdf, PDFium, Pillow); the model's cost is bounded by the picture size.

    python bench/fuzz.py .pdf --seconds 600          # one format for ten minutes
    python bench/fuzz.py .docx --seconds 60 -- -jobs=2 -workers=2   # more libFuzzer flags

A finding stops the run with a non-zero exit and leaves its input in the artifacts folder
(default .ragchat/fuzz/artifacts/<format>/): `crash-*` for an exception other than LoaderError, or a
LoaderError from `load_document`'s last line of defence ("loader crashed: ..."); `timeout-*` for
an input that took longer than --timeout; `oom-*` for one that needed more than --memory-mb.
Replay one with `python bench/fuzz.py .pdf -- .ragchat/fuzz/artifacts/pdf/crash-...`. The corpus
(seeds, then what libFuzzer found worth keeping) lives in .ragchat/fuzz/corpus/<format>/ and grows
from run to run; tests/test_fuzz_loaders.py runs every format for a short budget in CI.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import os
import random
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

FUZZ_DIR = REPO / ".ragchat" / "fuzz"
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
        print(f"{NO_SEEDS} for {suffix}: add one to bench/fuzz.py", file=sys.stderr)
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


def main() -> None:
    args = _parse_args()
    _count_memory_afresh()
    name = args.suffix.lstrip(".")
    corpus = args.corpus or FUZZ_DIR / "corpus" / name
    artifacts = args.artifacts or FUZZ_DIR / "artifacts" / name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)

    import atheris

    if not args.ocr:
        _read_nothing_by_ocr()
    scratch = Path(tempfile.mkdtemp(prefix="ragchat-fuzz-")) / f"input{args.suffix}"
    with atheris.instrument_imports(include=_INSTRUMENTED):
        from loaders import LoaderError, load_document

        seed_files = seeds(args.suffix)
        for seed_name, data in seed_files.items():
            (corpus / f"seed-{seed_name}").write_bytes(data)

        def test_one_input(data: bytes) -> None:
            scratch.write_bytes(data)
            try:
                document = load_document(scratch, scratch.name)
            except LoaderError as err:
                if str(err).startswith(CRASH_PREFIX):
                    raise
                return
            if not document.page_content.strip():
                raise AssertionError("a Document without text")

        for seed in corpus.iterdir():
            with contextlib.suppress(Exception):  # libFuzzer runs the seeds again, and reports
                test_one_input(seed.read_bytes())

    replay = [arg for arg in args.libfuzzer if not arg.startswith("-")]
    flags = [
        f"-timeout={args.timeout}",
        f"-rss_limit_mb={args.memory_mb}",
        f"-artifact_prefix={artifacts}/",
        "-print_final_stats=1",
    ]
    if not replay:
        flags += [f"-max_total_time={args.seconds}", str(corpus)]
    zipped = any(zipfile.is_zipfile(io.BytesIO(data)) for data in seed_files.values())
    if zipped:
        flags.append(f"-max_len={_ZIP_MAX_LEN}")
    extra = {"custom_mutator": _mutate_inside_zip} if zipped else {}
    atheris.Setup([sys.argv[0], *flags, *args.libfuzzer], test_one_input, **extra)
    atheris.Fuzz()


def _count_memory_afresh() -> None:
    """Go on in a forked child, the parent waiting for its exit status. libFuzzer's memory
    limit reads the peak RSS from getrusage, and Linux carries the peak of the process that
    started this one over exec: started by a pytest that has loaded models (11 GB), every input
    would count as out of memory. A fork starts counting from this process's own size."""
    child = os.fork()
    if child:
        _, status = os.waitpid(child, 0)
        sys.exit(os.waitstatus_to_exitcode(status))


_INSTRUMENTED = [
    "loaders",
    "yaml",
    *("pypdf", "pypdfium2", "bs4", "html", "_markupbase", "docx", "openpyxl", "pptx", "PIL"),
    *("charset_normalizer", "xml", "defusedxml", "et_xmlfile", "zipfile", "csv"),
]
"""Packages whose coverage guides the fuzzer: ragchat's loaders and the parsers they call (a new
loader's library belongs here). Not LangChain, pydantic or HTTP clients: instrumenting those
costs a minute of start-up and guides nothing."""
_ZIP_MAX_LEN = 1 << 20
_CONTAINER_MUTATIONS = 0.1
"""How often a zip-based input has its archive mutated rather than a part inside it."""


def _mutate_inside_zip(data: bytes, max_size: int, seed: int) -> bytes:
    """libFuzzer's mutation of one part of the archive, zipped again; sometimes of the archive
    itself, and always when the input is no longer a readable archive."""
    import atheris

    chooser = random.Random(seed)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = {info.filename: archive.read(info) for info in archive.infolist()}
    except Exception:  # whatever a broken archive raises: mutate it as bytes
        parts = {}
    if not parts or chooser.random() < _CONTAINER_MUTATIONS:
        return atheris.Mutate(data, max_size)
    name = chooser.choice(sorted(parts))
    parts[name] = atheris.Mutate(parts[name], max(len(parts[name]) * 2, 64))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in parts.items():
            archive.writestr(part, content)
    return buffer.getvalue()[:max_size]


def _read_nothing_by_ocr() -> None:
    """Stand in for RapidOCR (never imported, so neither is its runtime) with a model that finds
    no text in any picture."""

    class NoText:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __call__(self, *args: object, **kwargs: object) -> SimpleNamespace:
            return SimpleNamespace(txts=(), boxes=None, scores=())

    mock.patch.dict(sys.modules, {"rapidocr": SimpleNamespace(RapidOCR=NoText)}).start()


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suffix", help="the format, as its suffix: .pdf, .docx, ...")
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time")
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("--memory-mb", type=int, default=2048, help="most memory (RSS)")
    parser.add_argument("--corpus", type=Path, help="corpus folder")
    parser.add_argument("--artifacts", type=Path, help="where findings are written")
    parser.add_argument("--ocr", action="store_true", help="keep the real OCR model (slow)")
    parser.add_argument("libfuzzer", nargs="*", help="after --: libFuzzer flags or inputs")
    return parser.parse_intermixed_args()


if __name__ == "__main__":
    main()
