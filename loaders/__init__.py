"""Files to LangChain Documents: a reader per format chosen by suffix, then one clean-up for all.

`load_document` returns one Document per file, its text normalized (NFKC, whitespace) and, for
paged formats, `page_offsets` in its metadata so the chunker can give each chunk its page.
"""

from collections.abc import Callable
from pathlib import Path

from langchain_core.documents import Document

from loaders.errors import LoaderError
from loaders.formats import read_docx, read_html, read_pdf, read_text
from loaders.normalize import normalize_text

__all__ = ["LOADERS", "LoaderError", "SUPPORTED_SUFFIXES", "load_document"]

PAGE_SEPARATOR = "\n\n"

LOADERS: dict[str, Callable[[Path], list[str]]] = {
    ".txt": read_text,
    ".md": read_text,
    ".markdown": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
SUPPORTED_SUFFIXES = frozenset(LOADERS)


def load_document(path: Path, source: str) -> Document:
    """Read one file into a Document, or raise LoaderError with a reason a user understands."""
    reader = LOADERS.get(path.suffix.lower())
    if reader is None:
        raise LoaderError(
            f"unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    try:
        pages = reader(path)
    except PermissionError:
        raise LoaderError("permission denied") from None
    except OSError as err:
        raise LoaderError(f"cannot read file ({err.strerror or err})") from None
    except (LoaderError, MemoryError):
        raise
    except Exception as err:  # last line of defence: a reader's bug costs one file
        raise LoaderError(f"loader crashed: {type(err).__name__}: {err}") from err
    text, page_offsets = _join_pages([normalize_text(page) for page in pages])
    if not text.strip():
        raise LoaderError("no text found (empty file, or a scanned PDF without a text layer)")
    metadata: dict = {"source": source}
    if path.suffix.lower() == ".pdf":
        metadata["page_offsets"] = page_offsets
    return Document(page_content=text, metadata=metadata)


def _join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Join page texts and remember where each page starts in the result."""
    offsets, position = [], 0
    for page in pages:
        offsets.append(position)
        position += len(page) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(pages), offsets
