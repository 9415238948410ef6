"""Saving a file a browser or an API client sent: the name it came with is never trusted as a
path. Shared by the app's upload box and `POST /v1/files`."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

from errors import RagchatError
from i18n import N_
from loaders import SUPPORTED_SUFFIXES

MAX_NAME_BYTES = 200
"""Longest upload name in UTF-8 bytes: file systems allow 255, and a collision suffix
(`-12`) must still fit."""
UPLOADS_FOLDER = "uploads"
"""Uploads are saved in this folder under the documents folder."""


class UploadError(RagchatError, ValueError):
    """An upload that cannot be saved; the message says why."""

    code = "invalid_upload"


def safe_upload_name(name: str) -> str:
    """A plain file name for `name`: NFKC-normalized, the last path component only (either
    slash), no control or format characters (NUL, RTL override), no leading dots or spaces,
    at most MAX_NAME_BYTES bytes with the suffix kept, and a suffix ragchat reads."""
    text = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    text = text.strip().lstrip(". ")
    suffix = Path(text).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            N_("{name!r}: unsupported file type {suffix!r}; supported: {supported}"),
            name=name,
            suffix=suffix or "(none)",
            supported=", ".join(sorted(SUPPORTED_SUFFIXES)),
        )
    # Leading dots are gone, so a name with a suffix has a stem before it.
    stem, suffix = text[: -len(suffix)], text[-len(suffix) :]
    room = MAX_NAME_BYTES - len(suffix.encode())
    return stem.encode()[:room].decode(errors="ignore") + suffix


class UploadTooLarge(UploadError):
    """An upload over the configured size limit."""

    code = "file_too_large"
    http_status = 413


def save_upload(documents: Path, name: str, data: bytes, max_bytes: int) -> tuple[Path, bool]:
    """Save an upload as `<documents>/uploads/<safe name>`; return where it landed and whether
    that file is new (False: the same bytes were already there, nothing written). Nothing
    is ever overwritten: a file already there with the same bytes is that upload again (its
    path is returned, unchanged); one with other bytes keeps its name and the upload becomes
    `name-2.ext`, `name-3.ext`, ... The name is claimed with an exclusive create, so two
    uploads of one name at once get two files. UploadError when the name cannot be made safe,
    UploadTooLarge over `max_bytes`."""
    safe = safe_upload_name(name)
    if len(data) > max_bytes:
        raise UploadTooLarge(
            N_("{name}: larger than the upload limit ({megabytes} MB)"),
            name=safe,
            megabytes=f"{max_bytes / 1e6:g}",
        )
    folder = documents / UPLOADS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    if not folder.resolve().is_relative_to(documents.resolve()):
        raise UploadError(
            N_("{folder} leads outside the documents folder: not saving there"), folder=folder
        )
    stem, suffix = safe[: -len(Path(safe).suffix)], Path(safe).suffix
    for number in itertools.count(1):
        candidate = folder / (safe if number == 1 else f"{stem}-{number}{suffix}")
        try:
            with open(candidate, "xb") as out:
                out.write(data)
            return candidate, True
        except FileExistsError:
            if candidate.is_file() and not candidate.is_symlink() and _same(candidate, data):
                return candidate, False


def _same(path: Path, data: bytes) -> bool:
    return path.stat().st_size == len(data) and path.read_bytes() == data
