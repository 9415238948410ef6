"""One writer at a time per index folder (an ingest, a repair, renaming or deleting a knowledge
base), so that two never write versions at once; readers need no lock (`index.versions`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from i18n import N_
from index.errors import IndexBusyError


@contextmanager
def index_lock(
    folder: Path, wait_seconds: float, on_wait: Callable[[str], None] = print
) -> Iterator[None]:
    """Only one writer at a time; a second one says who holds the lock and waits for it."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / ".lock")
    owner_file = folder / ".lock-owner"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = (
            owner_file.read_text(encoding="utf-8") if owner_file.exists() else "another process"
        )
        on_wait(f"the index is being written by {holder}; waiting up to {wait_seconds:.0f} s")
        try:
            lock.acquire(timeout=wait_seconds)
        except Timeout:
            raise IndexBusyError(
                N_("the index in {folder} is still being written by {holder}; try again later"),
                folder=folder,
                holder=holder,
            ) from None
    try:
        owner_file.write_text(
            f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}", encoding="utf-8"
        )
        yield
    finally:
        owner_file.unlink(missing_ok=True)
        lock.release()
