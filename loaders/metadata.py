"""What a file says about itself besides its text: folder, type, title, modification time and the
user's tags, stored on every chunk so that retrieval can filter on them (`index.filters`).

Tags come from a sidecar file `<file>.tags` beside the document (comma or newline separated)
and, for Markdown, from the front matter (`tags: [a, b]` or a YAML list). The front matter is
cut off the Markdown text before it is normalized (`loaders.formats.read_markdown`), so chunk
offsets index the same text the viewer shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import yaml
from langchain_core.documents import Document

from loaders.encoding import decode_text
from loaders.ooxml import reading_office_file
from text.language import main_language
from text.normalize import normalize_text

SIDECAR_SUFFIX = ".tags"
MAX_SIDECAR_BYTES = 64 * 1024
"""A tags file larger than this is not a tags file: it is ignored."""
TYPE_ALIASES = {"markdown": "md", "htm": "html", "jpeg": "jpg"}
"""One name per format, so `type=md` also finds `.markdown` files."""

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_TAG_SEPARATORS = re.compile(r"[,\n]")


def split_front_matter(text: str) -> tuple[dict, str]:
    """Markdown's YAML front matter (a mapping between `---` lines at the very top) and the text
    after it; ({}, text) when there is none, or when it is no YAML mapping (then it is text)."""
    text = text.replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    try:
        fields = yaml.safe_load(match.group(1) or "")
    except (yaml.YAMLError, ValueError, RecursionError):  # e.g. `date: 2026-13-01`
        return {}, text
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        return {}, text
    return fields, text[match.end() :]


def file_metadata(path: Path, source: str, text: str) -> dict:
    """`folder`, `type`, `title`, `modified` and `tags` of a file indexed as `source` whose
    normalized text is `text`."""
    suffix = path.suffix.lower().lstrip(".")
    kind = TYPE_ALIASES.get(suffix, suffix)
    front = split_front_matter(_read_text(path))[0] if kind == "md" else {}
    title_of = _TITLES.get(kind)
    title = _one_line(str(front.get("title") or "")) or (title_of(path, text) if title_of else "")
    folder = PurePosixPath(source).parent.as_posix()
    return {
        "folder": "" if folder == "." else folder,
        "type": kind,
        "title": title or path.stem,
        "modified": path.stat().st_mtime,
        "tags": sorted(set(_sidecar_tags(path)) | set(_front_matter_tags(front))),
    }


def sidecar_path(path: Path) -> Path:
    """Where the tags of `path` are kept: `notes.md` -> `notes.md.tags`."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def sidecar_bytes(path: Path) -> bytes:
    """The bytes of the tags file of `path`; b"" when there is none, or it is a symbolic link
    (which could pull any file's text into the index) or too large to be a tags file."""
    sidecar = sidecar_path(path)
    try:
        if sidecar.is_symlink() or not sidecar.is_file():
            return b""
        if sidecar.stat().st_size > MAX_SIDECAR_BYTES:
            return b""
        return sidecar.read_bytes()
    except OSError:
        return b""


def add_languages(chunks: Iterable[Document]) -> list[Document]:
    """The chunks, each with its `language` ("zh" or "en"): one file may mix both."""
    chunks = list(chunks)
    for chunk in chunks:
        chunk.metadata["language"] = main_language(chunk.page_content)
    return chunks


def _read_text(path: Path) -> str:
    return decode_text(path.read_bytes())[0]


def _sidecar_tags(path: Path) -> list[str]:
    data = sidecar_bytes(path)
    return _clean_tags(_TAG_SEPARATORS.split(decode_text(data)[0])) if data else []


def _front_matter_tags(front: dict) -> list[str]:
    tags = front.get("tags")
    if isinstance(tags, str):
        return _clean_tags(tags.split(","))
    if isinstance(tags, list):
        return _clean_tags(str(tag) for tag in tags if isinstance(tag, str | int | float))
    return []


def _clean_tags(tags: Iterable[str]) -> list[str]:
    return [tag for tag in (_one_line(tag) for tag in tags) if tag]


def _one_line(text: str) -> str:
    return " ".join(normalize_text(text).split())


def _markdown_title(_path: Path, text: str) -> str:
    match = _HEADING.search(text)
    return _one_line(match.group(1)) if match else ""


def _html_title(path: Path, _text: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_read_text(path), "html.parser")
    for tag in (soup.title, soup.h1):
        if tag is not None and _one_line(tag.get_text(" ")):
            return _one_line(tag.get_text(" "))
    return ""


def _docx_title(path: Path, _text: str) -> str:
    import docx

    with reading_office_file(path, "Word document", ".doc"):
        for paragraph in docx.Document(str(path)).paragraphs:
            style = paragraph.style.name if paragraph.style is not None else ""
            if style.startswith(("Title", "Heading")) and paragraph.text.strip():
                return _one_line(paragraph.text)
    return ""


_TITLES: dict[str, Callable[[Path, str], str]] = {
    "md": _markdown_title,
    "html": _html_title,
    "docx": _docx_title,
}
"""The formats with a title of their own: first heading, <title> or <h1>, Word heading."""
