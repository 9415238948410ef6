"""One reader per text format. Each returns the raw text of the file's pages (one Page when the
format has no pages); cleaning and chunking happen elsewhere, the same for every format. Pictures,
tables and slides have their own modules (ocr.py, tables.py, slides.py)."""

from pathlib import Path

from i18n import N_
from loaders.encoding import decode_text, looks_binary
from loaders.errors import LoaderError
from loaders.metadata import split_front_matter
from loaders.ocr import ocr_pdf_pages
from loaders.ooxml import reading_office_file
from loaders.page import Page

_INVISIBLE_HTML = ["script", "style", "noscript", "template", "head", "svg"]


def read_text(path: Path) -> list[Page]:
    """Plain text and Markdown, in whatever encoding they were saved."""
    text, encoding = decode_text(path.read_bytes())
    if looks_binary(text):
        raise LoaderError(N_("looks like a binary file, not {encoding} text"), encoding=encoding)
    return [Page(text)]


def read_markdown(path: Path) -> list[Page]:
    """Markdown as text, without its front matter (its title and tags become metadata)."""
    return [Page(split_front_matter(page.text)[1]) for page in read_text(path)]


def read_html(path: Path) -> list[Page]:
    """The visible text of a web page: scripts, styles and markup removed."""
    from bs4 import BeautifulSoup, ParserRejectedMarkup

    text, _ = decode_text(path.read_bytes())
    try:
        soup = BeautifulSoup(text, "html.parser")
    except ParserRejectedMarkup:  # e.g. a `<![` the parser cannot make sense of
        raise LoaderError(N_("malformed HTML (the parser rejected it)")) from None
    for tag in soup(_INVISIBLE_HTML):
        tag.decompose()
    return [Page(soup.get_text("\n"))]


def read_pdf(path: Path) -> list[Page]:
    """One text per page, through LangChain's pypdf loader (page numbers kept by position);
    pages without a text layer (scans) are rendered and OCR'd."""
    from langchain_community.document_loaders import PyPDFLoader
    from pypdf.errors import FileNotDecryptedError

    try:
        texts = [page.page_content for page in PyPDFLoader(str(path), mode="page").load()]
    except OSError:
        raise
    except FileNotDecryptedError:
        raise LoaderError(N_("password-protected PDF; save a copy without a password")) from None
    except Exception as err:  # pypdf raises many kinds of errors on malformed files
        raise LoaderError(
            N_("cannot read PDF ({kind}: {error})"), kind=type(err).__name__, error=err
        ) from err
    scanned = [index for index, text in enumerate(texts) if not text.strip()]
    recognized = dict(zip(scanned, ocr_pdf_pages(path, scanned), strict=True)) if scanned else {}
    pages = []
    for index, text in enumerate(texts):
        ocr_text = recognized.get(index, "")
        pages.append(Page(ocr_text, ocr=True) if ocr_text.strip() else Page(text))
    return pages


def read_docx(path: Path) -> list[Page]:
    """Paragraphs and table cells of a Word document, in document order of their kind."""
    import docx

    with reading_office_file(path, "Word document", ".doc"):
        document = docx.Document(str(path))
        paragraphs = [paragraph.text for paragraph in document.paragraphs]
        cells = [
            " | ".join(cell.text for cell in row.cells)
            for table in document.tables
            for row in table.rows
        ]
    return [Page("\n\n".join(paragraphs + cells))]
