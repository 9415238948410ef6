"""Text from pictures: image files and PDF pages without a text layer (scans), read offline by
RapidOCR, whose wheel carries its Chinese + English models.

The engine takes about a second to build, so one is built per process, on first use. Neither it
(each call resets its options) nor PDFium is thread-safe, so one lock covers every call into
them: the app and the API may ingest from several threads.
"""

import io
import re
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps

from i18n import N_
from loaders.errors import LoaderError
from loaders.page import Page

if TYPE_CHECKING:
    import pypdfium2
    from rapidocr import RapidOCR

# RapidOCR shrinks anything larger to 2000 px on the long side: render scans at that size.
_LONG_SIDE_PX = 2000
_MAX_SCALE = 300 / 72  # but small pages no finer than 300 dpi
# Only the formats the suffixes promise: Pillow's rarer decoders are no business of a loader.
_IMAGE_FORMATS = ("PNG", "JPEG")
# Pillow's own bomb threshold, ~89 million pixels (a 600 dpi scan of an A3 page has 70).
_MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
PDFIUM_LOCK = threading.Lock()
"""Held for every call into PDFium or the OCR engine, neither of which is thread-safe (the
viewer renders PDF pages under it too)."""


@dataclass(frozen=True)
class _Piece:
    """One recognized text box: its text and its extent on the page."""

    text: str
    left: float
    right: float
    top: float
    bottom: float

    @classmethod
    def of(cls, box: list[list[float]], text: str) -> "_Piece":
        xs, ys = [x for x, _ in box], [y for _, y in box]
        return cls(text, min(xs), max(xs), min(ys), max(ys))

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def read_image(path: Path) -> list[Page]:
    """A PNG or JPEG (a scan, a photo of a page, a screenshot) as one OCR'd page."""
    data = path.read_bytes()
    try:
        with Image.open(io.BytesIO(data), formats=_IMAGE_FORMATS) as image:
            if image.width * image.height > _MAX_PIXELS:  # Pillow only warns up to twice that
                raise _too_large()
            picture = ImageOps.exif_transpose(image)  # phone photos are stored sideways
    except Image.DecompressionBombError:
        raise _too_large() from None
    except (OSError, SyntaxError, ValueError, EOFError):  # Pillow's errors on corrupt files
        raise LoaderError(N_("not a readable PNG or JPEG image (corrupt or truncated)")) from None
    picture.thumbnail((_LONG_SIDE_PX, _LONG_SIDE_PX))
    with PDFIUM_LOCK:
        return [Page(_recognize(picture), ocr=True)]


def _too_large() -> LoaderError:
    return LoaderError(
        N_("image too large (more than {millions} million pixels)"),
        millions=_MAX_PIXELS // 10**6,
    )


def ocr_pdf_pages(path: Path, indices: list[int]) -> list[str]:
    """The OCR'd text of the given (0-based) pages of a PDF, each rendered as an image."""
    import pypdfium2

    with PDFIUM_LOCK:
        try:  # a damaged page fails to load as a damaged file fails to open
            document = pypdfium2.PdfDocument(path)
            try:
                return [_recognize(_render(document[index])) for index in indices]
            finally:
                document.close()
        except pypdfium2.PdfiumError as err:
            raise LoaderError(N_("cannot render PDF pages for OCR ({error})"), error=err) from None


def _render(page: "pypdfium2.PdfPage") -> Image.Image:
    width, height = page.get_size()
    scale = min(_MAX_SCALE, _LONG_SIDE_PX / max(width, height, 1))
    return page.render(scale=scale).to_pil()


def _recognize(picture: Image.Image) -> str:
    """The text in a picture, in reading order; called with the lock held. The engine is given
    an image, never a path: it would fetch a path that looks like a URL."""
    mode = "RGBA" if picture.has_transparency_data else "RGB"
    result = _engine()(picture.convert(mode))
    if not result.txts:
        return ""
    boxes = result.boxes.tolist()
    return _reading_order([_Piece.of(b, t) for b, t in zip(boxes, result.txts, strict=True)])


@cache
def _engine() -> "RapidOCR":
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "error"})


def _reading_order(pieces: list[_Piece]) -> str:
    """Pieces grouped into lines (top to bottom, each left to right), and the lines of a
    paragraph joined: a line that reaches the right margin was wrapped, so the next one goes on
    from it (with no space between Chinese characters); any other line ends its paragraph."""
    lines: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: p.middle):
        if lines and lines[-1][0].top <= piece.middle <= lines[-1][0].bottom:
            lines[-1].append(piece)
        else:
            lines.append([piece])
    margin = max(piece.right for piece in pieces)
    text, previous = "", None
    for line in lines:
        line.sort(key=lambda p: p.left)
        line_text = line[0].text
        for piece in line[1:]:
            line_text += _joiner(line_text, piece.text) + piece.text
        if previous is not None:
            height = previous[0].bottom - previous[0].top
            wrapped = max(p.right for p in previous) >= margin - height
            close = line[0].top - previous[0].bottom < height
            text += _joiner(text, line_text) if wrapped and close else "\n"
        text += line_text
        previous = line
    return text


def _joiner(before: str, after: str) -> str:
    """Nothing between two Chinese (or Japanese, Korean) characters, else a space."""
    return "" if _CJK.match(before[-1:]) and _CJK.match(after[:1]) else " "
