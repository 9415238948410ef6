"""One reader per file format. Each returns the raw text of the file's pages (one item when the
format has no pages); cleaning and chunking happen elsewhere, the same for every format."""

import zipfile
from pathlib import Path

from loaders.encoding import decode_text, looks_binary
from loaders.errors import LoaderError

_INVISIBLE_HTML = ["script", "style", "noscript", "template", "head", "svg"]


def read_text(path: Path) -> list[str]:
    """Plain text and Markdown, in whatever encoding they were saved."""
    text, encoding = decode_text(path.read_bytes())
    if looks_binary(text):
        raise LoaderError(f"looks like a binary file, not {encoding} text")
    return [text]


def read_html(path: Path) -> list[str]:
    """The visible text of a web page: scripts, styles and markup removed."""
    from bs4 import BeautifulSoup

    text, _ = decode_text(path.read_bytes())
    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(_INVISIBLE_HTML):
        tag.decompose()
    return [soup.get_text("\n")]


def read_pdf(path: Path) -> list[str]:
    """One text per page, through LangChain's pypdf loader (page numbers kept by position)."""
    from langchain_community.document_loaders import PyPDFLoader

    try:
        pages = PyPDFLoader(str(path), mode="page").load()
    except OSError:
        raise
    except Exception as err:  # pypdf raises many kinds of errors on malformed files
        raise LoaderError(f"cannot read PDF ({type(err).__name__}: {err})") from err
    return [page.page_content for page in pages]


def read_docx(path: Path) -> list[str]:
    """Paragraphs and table cells of a Word document, in document order of their kind."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise LoaderError(f"cannot read Word document ({type(err).__name__}: {err})") from err
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    cells = [
        " | ".join(cell.text for cell in row.cells)
        for table in document.tables
        for row in table.rows
    ]
    return ["\n\n".join(paragraphs + cells)]
