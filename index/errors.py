"""The index's errors: each message says what to do, and damaged files are named with the
command that rebuilds them (`damaged`), never left as a traceback from FAISS, json or pydantic."""

from __future__ import annotations

from pathlib import Path

from errors import RagchatError

REPAIR_COMMAND = "python ingest.py --repair"


class IndexStoreError(RagchatError):
    """Base of the index's errors; the message tells the user what to do."""

    code = "index_unavailable"
    http_status = 503


class IndexNotFoundError(IndexStoreError):
    """No index has been built yet."""

    code = "index_not_found"


class IndexMismatchError(IndexStoreError):
    """The index was built by another embedder, or by an unknown format version."""

    code = "index_mismatch"


class IndexCorruptError(IndexStoreError):
    """A file of the live version cannot be read, or disagrees with the others (see `damaged`)."""

    code = "index_damaged"


class IndexBusyError(IndexStoreError):
    """Another process holds the index's writer lock."""

    code = "index_busy"


def damaged(problem: str, *paths: Path) -> IndexCorruptError:
    """The error for damaged index files: which, how, and the command that rebuilds them."""
    if len(paths) == 1:
        what = f"index file {paths[0]} is damaged"
    else:
        what = f"index files {' and '.join(map(str, paths))} do not match"
    return IndexCorruptError(f"{what} ({problem}); run `{REPAIR_COMMAND}`")
