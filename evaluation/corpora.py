"""Real documentation nobody here wrote, for the quality gates and the benchmarks: Debian's
python3-doc manual (`apt-get install python3-doc`; `make pydocs`), and the subset of its library
pages CI indexes (listed in tests/data/pydocs_pages.txt)."""

from __future__ import annotations

import shutil
from pathlib import Path

PYDOCS_HTML = Path("/usr/share/doc/python3-doc/html")


def listed_pages(listing: Path) -> list[str]:
    """The library page names in `listing`, one a line."""
    return listing.read_text(encoding="utf-8").split()


def copy_pydocs_pages(listing: Path, target: Path) -> Path:
    """`target`, holding a copy of the python3-doc library pages `listing` names (ragchat reads
    the HTML; links would lead outside the folder, which ingest refuses to follow)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in listed_pages(listing):
        if not (target / name).is_file():
            shutil.copyfile(PYDOCS_HTML / "library" / name, target / name)
    return target
