"""Scans and pictures through the OCR model (RapidOCR, PP-OCRv4): an image is one recognized
page, a PDF page without a text layer is recognized and the others are not, several threads
share one engine, and a picture that cannot be read is refused with a reason."""

import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from loaders import LoaderError, load_document
from loaders.chunking import SlidingWindowSplitter

pytestmark = pytest.mark.heavy  # the OCR model reads every picture

CHINESE_LINE = "注意力机制让模型关注最相关的部分"
ENGLISH_LINE = "Attention lets the model focus on relevant parts."


def _cjk_font() -> Path | None:
    fonts = Path("/usr/share/fonts")
    found = sorted(fonts.rglob("*CJK*.tt[cf]")) + sorted(fonts.rglob("*CJK*.otf"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def text_picture() -> Image.Image:
    """A picture of a Chinese and an English line, as a scanner or a screenshot would give."""
    font_file = _cjk_font()
    if font_file is None:
        pytest.skip("no CJK font to draw Chinese text (apt-get install fonts-noto-cjk)")
    font = ImageFont.truetype(str(font_file), 36)
    picture = Image.new("RGB", (900, 200), "white")
    draw = ImageDraw.Draw(picture)
    draw.text((30, 30), CHINESE_LINE, font=font, fill="black")
    draw.text((30, 110), ENGLISH_LINE, font=font, fill="black")
    return picture


def _assert_recognized(text: str) -> None:
    """Both lines came back; OCR may misread a character, so key words are checked."""
    for word in ["注意力", "模型", "相关"]:
        assert word in text
    for word in ["Attention", "model", "relevant"]:
        assert word in text


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


_PNG = _png(Image.new("RGB", (64, 64), "white"))
_HUGE_PNG = _png(Image.new("1", (10_000, 9_000), 1))  # 30 kB


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_image_is_one_ocr_page(tmp_path, text_picture, suffix):
    path = tmp_path / f"scan{suffix}"
    text_picture.save(path)
    document = load_document(path, path.name)
    _assert_recognized(document.page_content)
    assert document.page_content.index("注意力") < document.page_content.index("Attention")
    chunks = list(SlidingWindowSplitter(400, 40, 40).chunk_document(document))
    assert chunks and all(c.metadata["page"] == 1 and c.metadata["ocr"] for c in chunks)


def test_ocr_from_several_threads(tmp_path, text_picture):
    """The app and the API may ingest from threads: one engine, used by one at a time."""
    paths = [tmp_path / f"scan-{n}.png" for n in range(3)]
    for path in paths:
        text_picture.save(path)
    with ThreadPoolExecutor(max_workers=3) as pool:
        documents = list(pool.map(lambda path: load_document(path, path.name), paths))
    assert len({document.page_content for document in documents}) == 1
    _assert_recognized(documents[0].page_content)


def test_pdf_ocrs_only_the_page_without_a_text_layer(tmp_path, text_picture):
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    pdf.add_page()
    pdf.cell(text="Bigram models count word pairs.")
    pdf.add_page()
    pdf.image(text_picture, x=10, y=10, w=180)
    path = tmp_path / "half-scanned.pdf"
    pdf.output(str(path))
    document = load_document(path, path.name)
    text, offsets = document.page_content, document.metadata["page_offsets"]
    assert text[: offsets[1]].strip() == "Bigram models count word pairs."
    _assert_recognized(text[offsets[1] :])
    assert document.metadata["ocr_pages"] == [2]

    chunks = list(SlidingWindowSplitter(40, 0, 10).chunk_document(document))
    first, rest = chunks[0], chunks[1:]
    assert first.page_content == "Bigram models count word pairs."
    assert first.metadata["page"] == 1 and "ocr" not in first.metadata
    assert rest and all(c.metadata["page"] == 2 and c.metadata["ocr"] for c in rest)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("scan.png", b"\x89PNG\r\n\x1a\n" + bytes(40), "not a readable PNG or JPEG"),
        ("scan.png", _PNG[: len(_PNG) // 2], "not a readable PNG or JPEG"),
        ("photo.jpg", b"GIF89a" + bytes(40), "not a readable PNG or JPEG"),
        ("blank.png", _PNG, "no text found"),
        pytest.param(
            "huge.png",
            _HUGE_PNG,
            "image too large",
            marks=pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
        ),
    ],
)
def test_unreadable_pictures_are_refused_with_a_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoaderError, match=reason):
        load_document(path, name)
