"""Outline cost after ingest (`services.outlines`): an existing index opened, then its outlines
synced into a fresh sidecar three times: every file new, one file changed, nothing changed.

    python bench/outlines.py .ragchat/bench-answer-seeds-500-100 [more index folders]

(`bench/answer.py` builds those indexes: `--kinds` the seeds' and the manual pages'.) The sync
reads only the changed files' chunks (a long file: at most `OutlineShape.windows` of them), so
its time follows what changed; when nothing did, ingest checks the manifest alone.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_settings  # noqa: E402
from index.embeddings import build_embedder  # noqa: E402
from index.versions import load_index  # noqa: E402
from services.outlines import OutlineStore  # noqa: E402


def measure(index: Path, embedder) -> str:
    """One line: the index's size and the three syncs' times."""
    started = time.perf_counter()
    knowledge_base = load_index(index, embedder)
    opened = time.perf_counter() - started
    files = knowledge_base.manifest.files
    store = OutlineStore(Path(tempfile.mkdtemp()) / "outlines.sqlite3")
    every = store.sync(knowledge_base)
    changed = sorted(files)[0]
    with sqlite3.connect(store.path) as connection:  # as if its content had changed
        connection.execute("UPDATE outlines SET digest = '' WHERE source = ?", (changed,))
    one = store.sync(knowledge_base)
    started = time.perf_counter()
    assert store.up_to_date(files)
    check = time.perf_counter() - started
    chunks = sum(len(record.chunk_ids) for record in files.values())
    return (
        f"{index.name}: {len(files)} files, {chunks} chunks; open {opened:.2f} s; "
        f"all files {every.seconds:.2f} s; one changed ({len(files[changed].chunk_ids)} chunks) "
        f"{one.seconds:.3f} s; nothing changed (manifest check) {check * 1000:.1f} ms"
    )


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    embedder = build_embedder(load_settings().embedding)
    for index in sys.argv[1:]:
        print(measure(Path(index), embedder))


if __name__ == "__main__":
    main()
