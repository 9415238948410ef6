"""Saving a file a browser or an API client sent: the name it came with is never trusted as a
path. Shared by the app's upload box and `POST /v1/files`."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from loaders import SUPPORTED_SUFFIXES

MAX_NAME_CHARS = 120
UPLOADS_FOLDER = "uploads"
"""Uploads are saved in this folder under the documents folder."""


class UploadError(ValueError):
    """An upload that cannot be saved; the message says why."""


def safe_upload_name(name: str) -> str:
    """A plain file name for `name`: NFKC-normalized, the last path component only (either
    slash), no control or format characters (NUL, RTL override), no leading dots or spaces,
    at most MAX_NAME_CHARS characters with the suffix kept, and a suffix ragchat reads."""
    text = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    text = text.strip().lstrip(". ")
    suffix = Path(text).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(
            f"{name!r}: unsupported file type {suffix or '(none)'!r}; "
            f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    # Leading dots are gone, so a name with a suffix has a stem before it.
    stem, suffix = text[: -len(suffix)], text[-len(suffix) :]
    return stem[: MAX_NAME_CHARS - len(suffix)] + suffix


def upload_target(documents: Path, name: str) -> Path:
    """Where an upload called `name` is saved: `<documents>/uploads/<safe name>` (the folder is
    made if needed); UploadError if the name cannot be made safe."""
    folder = documents / UPLOADS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder / safe_upload_name(name)
