"""Files to LangChain Documents: a reader per format chosen by suffix, then one clean-up for all.

`load_document` returns one Document per file, its text normalized (NFKC, whitespace). For paged
formats its metadata has `page_offsets` (where each page starts) so the chunker can give each
chunk its page, and `page_labels` (sheet names) and `ocr_pages` (pages read by OCR) where they
apply; for tables, `row_offsets` (where each row starts) so no window cuts through a row.
Every Document also carries what `loaders.metadata` says about its file (folder, type, title,
modification time, tags), which the chunker copies into each chunk for filtering.
"""

import re
from collections.abc import Callable
from pathlib import Path

from langchain_core.documents import Document

from i18n import N_
from loaders.errors import LoaderError
from loaders.formats import read_docx, read_html, read_markdown, read_pdf, read_text
from loaders.metadata import file_metadata
from loaders.ocr import read_image
from loaders.page import Page
from loaders.slides import read_pptx
from loaders.tables import read_csv, read_xlsx
from text.normalize import normalize_text

__all__ = ["LOADERS", "LoaderError", "Page", "SUPPORTED_SUFFIXES", "load_document"]

PAGE_SEPARATOR = "\n\n"

LOADERS: dict[str, Callable[[Path], list[Page]]] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".markdown": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".png": read_image,
    ".jpg": read_image,
    ".jpeg": read_image,
    ".xlsx": read_xlsx,
    ".csv": read_csv,
    ".pptx": read_pptx,
}
SUPPORTED_SUFFIXES = frozenset(LOADERS)
# Formats whose readers return one item per page, slide, sheet or image: chunks get its number.
PAGED_SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".xlsx", ".pptx"})

_LINE_START = re.compile(r"^", re.MULTILINE)


def load_document(path: Path, source: str) -> Document:
    """Read one file into a Document, or raise LoaderError with a reason a user understands."""
    suffix = path.suffix.lower()
    reader = LOADERS.get(suffix)
    if reader is None:
        raise LoaderError(
            N_("unsupported file type {suffix!r}; supported: {supported}"),
            suffix=path.suffix or "(none)",
            supported=", ".join(sorted(SUPPORTED_SUFFIXES)),
        )
    try:
        pages = reader(path)
        texts = [normalize_text(page.text) for page in pages]
        text, page_offsets = _join_pages(texts)
        described = file_metadata(path, source, text)
    except PermissionError:
        raise LoaderError(N_("permission denied")) from None
    except OSError as err:
        raise LoaderError(N_("cannot read file ({reason})"), reason=err.strerror or err) from None
    except (LoaderError, MemoryError):
        raise
    except Exception as err:  # last line of defence: a reader's bug costs one file
        raise LoaderError(
            N_("loader crashed: {kind}: {error}"), kind=type(err).__name__, error=err
        ) from err
    if not text.strip():
        raise LoaderError(
            N_("no text found (empty file, or a scan or image without readable text)")
        )
    metadata: dict = {"source": source, **described}
    if suffix in PAGED_SUFFIXES:
        metadata["page_offsets"] = page_offsets
        if any(page.label for page in pages):
            metadata["page_labels"] = [page.label for page in pages]
        if any(page.ocr for page in pages):
            metadata["ocr_pages"] = [n for n, page in enumerate(pages, start=1) if page.ocr]
    row_offsets = [
        offset + line.start()
        for page, page_text, offset in zip(pages, texts, page_offsets, strict=True)
        if page.rows
        for line in _LINE_START.finditer(page_text)
    ]
    if row_offsets:
        metadata["row_offsets"] = row_offsets
    return Document(page_content=text, metadata=metadata)


def _join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Join page texts and remember where each page starts in the result."""
    offsets, position = [], 0
    for page in pages:
        offsets.append(position)
        position += len(page) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(pages), offsets
