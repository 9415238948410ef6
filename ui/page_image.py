"""A cited PDF page as a picture, with the passage and its supporting sentence highlighted where
the page draws them.

PDFium (pypdfium2) renders the page with the fonts the file embeds, Chinese included, and its
text layer says where each character is drawn. The texts to find come from ingest, which read
the page with pypdf: the two differ in spacing and line breaks, so both are compared after the
same normalization (`text.normalize`), without whitespace. A page without a text layer (a
scan read by OCR) gives no boxes: the viewer then shows the text beside the picture.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from loaders.ocr import PDFIUM_LOCK
from text.normalize import normalize_text
from ui.document import DocumentView, Span

if TYPE_CHECKING:
    import pypdfium2

Box = tuple[float, float, float, float]
"""left, top, right, bottom in pixels of the picture."""
WIDTH_PX = 1000
"""The picture's width: sharp enough to read Chinese in a dialog, small enough to send."""
_PASSAGE_FILL = (66, 133, 244, 45)
_SENTENCE_FILL = (255, 200, 0, 110)
_SENTENCE_OUTLINE = (230, 140, 0, 255)


@dataclass(frozen=True)
class PageImage:
    """One page drawn with its highlights."""

    number: int
    """1-based."""
    count: int
    """Pages in the file."""
    picture: Image.Image
    passage: list[Box]
    sentence: list[Box]


def cited_page(view: DocumentView, width_px: int = WIDTH_PX) -> PageImage:
    """The page of the view's supporting sentence with the passage and the sentence (their
    parts on that page) highlighted. Raises pypdfium2.PdfiumError for a file PDFium cannot read."""
    number = view.page or 1
    return render_page(
        view.path,
        number,
        passage=view.on_page(view.passage, number),
        sentence=view.on_page(view.sentence, number),
        width_px=width_px,
    )


def render_page(
    path: Path, number: int, passage: str, sentence: str, width_px: int = WIDTH_PX
) -> PageImage:
    """Page `number` (1-based) of a PDF, `passage` and `sentence` highlighted where found."""
    import pypdfium2

    with PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(path)
        try:
            count = len(document)
            page = document[min(max(number, 1), count) - 1]
            width, height = page.get_size()  # a freak page (1 pt by 5 m) stays a picture
            scale = min(width_px / max(width, 1), 2 * width_px / max(height, 1))
            picture = page.render(scale=scale).to_pil().convert("RGBA")
            layer = _TextLayer(page.get_textpage())
            passage_at = layer.find(passage)
            sentence_at = layer.find(sentence, *(passage_at or ())) or layer.find(sentence)
            size = picture.size
            passage_boxes = layer.boxes(page, passage_at, size) if passage_at else []
            sentence_boxes = layer.boxes(page, sentence_at, size) if sentence_at else []
        finally:
            document.close()
    return PageImage(
        number=number,
        count=count,
        picture=_highlight(picture, passage_boxes, sentence_boxes),
        passage=passage_boxes,
        sentence=sentence_boxes,
    )


class _TextLayer:
    """A page's characters, normalized and without whitespace, each remembering its index on
    the page."""

    def __init__(self, textpage: pypdfium2.PdfTextPage) -> None:
        import pypdfium2.raw as pdfium

        self.textpage = textpage
        chars, self.indices = [], []
        for index in range(textpage.count_chars()):
            for char in normalize_text(chr(pdfium.FPDFText_GetUnicode(textpage.raw, index))):
                chars.append(char)
                self.indices.append(index)
        self.text = "".join(chars)

    def find(self, text: str, lowest: int = 0, highest: int | None = None) -> Span | None:
        """Where `text` first lies in the compacted text (between positions `lowest` and
        `highest`), or None."""
        key = "".join(normalize_text(text).split())
        at = self.text.find(key, lowest, highest) if key else -1
        return (at, at + len(key)) if at >= 0 else None

    def boxes(self, page: pypdfium2.PdfPage, span: Span, size: tuple[int, int]) -> list[Box]:
        """Pixel boxes of the characters at compact positions `span`, one per run on a line."""
        first, last = self.indices[span[0]], self.indices[span[1] - 1]
        boxes = []
        for rect in range(self.textpage.count_rects(first, last - first + 1)):
            left, bottom, right, top = self.textpage.get_rect(rect)
            x0, y0 = _to_pixels(page, size, left, top)
            x1, y1 = _to_pixels(page, size, right, bottom)
            boxes.append((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        return boxes


def _to_pixels(
    page: pypdfium2.PdfPage, size: tuple[int, int], x: float, y: float
) -> tuple[float, float]:
    """A point of the page (PDF user space) in the rendered picture, as PDFium maps it (crop
    box and rotation included)."""
    import pypdfium2.raw as pdfium

    device_x, device_y = ctypes.c_int(), ctypes.c_int()
    pdfium.FPDF_PageToDevice(
        page.raw, 0, 0, size[0], size[1], 0, x, y, ctypes.byref(device_x), ctypes.byref(device_y)
    )
    return float(device_x.value), float(device_y.value)


def _highlight(picture: Image.Image, passage: list[Box], sentence: list[Box]) -> Image.Image:
    """The picture with translucent boxes over the passage and, stronger, the sentence."""
    overlay = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in passage:
        draw.rectangle(_padded(box), fill=_PASSAGE_FILL)
    for box in sentence:
        draw.rectangle(_padded(box), fill=_SENTENCE_FILL, outline=_SENTENCE_OUTLINE, width=2)
    return Image.alpha_composite(picture, overlay).convert("RGB")


def _padded(box: Box, by: float = 2.0) -> Box:
    left, top, right, bottom = box
    return left - by, top - by, right + by, bottom + by
