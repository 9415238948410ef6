"""The document viewer: a cited passage opened in its document, in a dialog over the chat.

Every answer gets a row of `[n]` buttons, one per passage it cites, and every source card an
"Open in document" button; both open `show`, which draws what `ui.document` and
`ui.page_image` prepared: the document's text (escaped) with the passage marked and the
supporting sentence highlighted, and for a PDF the page itself with the same highlights. A
stored conversation opens its old cards the same way (`show` takes the card, the answer and the
question), and is told when the document has since changed or gone.

Files are read by ingest's isolated loader (a hostile file that changed since it was indexed
can only fail, never take the app down), once per file version: the result is cached by path,
modification time and size.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import streamlit as st
from langchain_core.documents import Document

from config import IngestSettings, Settings
from i18n import _
from loaders.isolation import IsolatedLoader
from ui.document import DocumentView, open_document
from ui.page_image import cited_page

_PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


@dataclass(frozen=True)
class Opener:
    """Opens one answer's passages: `settings` are its knowledge base's (documents folder,
    loader limits), `key` tells its buttons apart from other answers' on the page."""

    settings: Settings
    key: str

    def citations(self, turn: dict) -> None:
        """A row of `[n]` buttons under the answer, one per passage it cites."""
        cards = {card["n"]: card for card in turn["sources"]}
        cited = [n for n in turn["cited"] if n in cards]
        if not cited:
            return
        with st.container(horizontal=True, gap="small", vertical_alignment="center"):
            st.caption(_("Open a cited passage in its document:"), width="content")
            for n in cited:
                shown = st.button(
                    f"[{n}]", key=f"cite-{self.key}-{n}", help=_("Show it in its document")
                )
                if shown:
                    _dialog(self.settings, cards[n], turn["answer"], turn["question"])

    def card(self, turn: dict, card: dict) -> None:
        """The "Open in document" button of one source card."""
        if st.button(_("Open in document"), key=f"open-{self.key}-{card['n']}"):
            _dialog(self.settings, card, turn["answer"], turn["question"])


def _dialog(settings: Settings, card: dict, answer: str, question: str) -> None:
    """`show` in a dialog over the page, titled in the run's language."""
    st.dialog(_("Source"), width="large")(show)(settings, card, answer, question)


def show(settings: Settings, card: dict, answer: str = "", question: str = "") -> None:
    """Card `card` of an answer in its document, with the supporting sentence highlighted."""
    load = partial(_load, settings.ingest)
    view = open_document(settings.paths.documents, card, answer, question, load)
    st.html(f"<p><strong>[{card['n']}] {html.escape(card['label'])}</strong></p>")
    if view.note:
        st.warning(view.note)
    suffix = view.path.suffix.lower()
    if view.from_file and suffix == ".pdf":
        _pdf(view)
    elif view.from_file and suffix in _PICTURE_SUFFIXES:
        picture, text = st.columns([3, 2])
        picture.image(str(view.path))
        with text:
            st.html(view.html())
    else:
        st.html(view.html())


def _pdf(view: DocumentView) -> None:
    """The cited page beside its text; says so when the text is not on the page's text layer."""
    import pypdfium2

    try:
        page = cited_page(view)
    except pypdfium2.PdfiumError as err:
        st.error(_("The page cannot be drawn ({error}); here is its text.").format(error=err))
        st.html(view.html())
        return
    picture, text = st.columns([3, 2])
    caption = _("Page {number} of {count}").format(number=page.number, count=page.count)
    picture.image(page.picture, caption=caption)
    with text:
        if not page.sentence:
            st.caption(
                _(
                    "The sentence was not found on the page's text layer (a scanned page?): "
                    "it is highlighted in the page's text here."
                )
            )
        st.html(view.html())


def _load(ingest: IngestSettings, path: Path, source: str) -> Document:
    """`load_document` in ingest's worker process, cached per version of the file."""
    stat = path.stat()
    with st.spinner(_("Reading the document…")):
        return _read(str(path), source, (stat.st_mtime_ns, stat.st_size), ingest)


@st.cache_data(max_entries=16, show_spinner=False)
def _read(path: str, source: str, version: tuple[int, int], _ingest: IngestSettings) -> Document:
    """The loaded file; `version` (modification time, size) is part of the cache's key."""
    with IsolatedLoader(_ingest) as loader:
        return loader.load(Path(path), source)
