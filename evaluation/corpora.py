"""Real documentation nobody here wrote, for the quality gates and the benchmarks: Debian's
python3-doc manual (`apt-get install python3-doc`; `make pydocs`), and the subset of its library
pages CI indexes (listed in tests/data/pydocs_pages.txt); Debian's Chinese manual pages
(`apt-get install manpages-zh`; `make manpages`), the subset in tests/data/manpages_pages.txt."""

from __future__ import annotations

import gzip
import shutil
import subprocess
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


MANPAGES_ZH = Path("/usr/share/man/zh_CN")
RENDER_SECONDS = 20
"""groff gives up on no page, but its troff loops forever on a few (manpages-zh's df.1)."""


def render_manpages(listing: Path, target: Path) -> Path:
    """`target`, holding each manpages-zh page `listing` names (`man1/tar`) as UTF-8 text
    (`tar.1.txt`) as groff lays it out for a terminal: a mixed-language manual, since the
    translations keep options, commands and some passages in English (`make manpages`)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in listed_pages(listing):
        section, page = name.split("/")
        text_file = target / f"{page}.{section.removeprefix('man')}.txt"
        if text_file.is_file():
            continue
        source = MANPAGES_ZH / section / f"{page}.{section.removeprefix('man')}.gz"
        rendered = subprocess.run(
            ["groff", "-Kutf8", "-mandoc", "-Tutf8", "-rLL=100n", "-P-cbou"],
            input=gzip.decompress(source.read_bytes()),
            capture_output=True,
            timeout=RENDER_SECONDS,
            check=True,
        )
        text_file.write_bytes(rendered.stdout)
    return target
