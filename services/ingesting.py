"""Ingest as every face runs it: index documents, save an upload, remove files from the index,
check the index and repair it (`index.updater`, `index.check`).

Everything that writes waits in the local model's line (`llms.queue`), after the answers
already waiting, so embedding and generation never run at once. Errors name their `python
ingest.py` commands with `--kb` for a named knowledge base.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog, kb_commands
from index.check import IndexHealth, check_index, repair_index
from index.errors import IndexStoreError
from index.updater import IngestReport, forget, ingest, source_path
from llms.queue import ModelQueue
from loaders.uploads import save_upload
from services.live import LiveIndexes, commands_for


class IngestService:
    """Ingest, uploads, forget, check and repair over the knowledge bases of `catalog`."""

    def __init__(self, catalog: KnowledgeBaseCatalog, live: LiveIndexes, queue: ModelQueue):
        self.catalog = catalog
        self.live = live
        self.queue = queue

    def ingest(
        self,
        paths: Iterable[Path] | None = None,
        rebuild: bool = False,
        on_message: Callable[[str], None] = print,
        on_progress: Callable[[int, int], None] | None = None,
        new_uploads: Iterable[Path] = (),
        kb: str = DEFAULT_KB,
        *,
        dry_run: bool = False,
        show_progress: bool = False,
        lock_wait_seconds: float = 600.0,
    ) -> IngestReport:
        """Index the files under `paths` (default: the documents folders) of knowledge base
        `kb`. `new_uploads`, files an upload has just created (app and API), are removed again
        if they cannot be indexed, so a refused upload leaves nothing behind."""
        settings = self.catalog.settings_for(kb)
        new = {path.resolve() for path in new_uploads}
        try:
            with self.queue.seat(), commands_for(kb):
                report = ingest(
                    settings,
                    self.live.embedder_for(kb),
                    paths,
                    rebuild=rebuild,
                    dry_run=dry_run,
                    show_progress=show_progress,
                    lock_wait_seconds=lock_wait_seconds,
                    on_message=on_message,
                    on_progress=on_progress,
                )
        except IndexStoreError:
            _remove(new)
            raise
        documents = settings.paths.documents
        _remove(new & {source_path(failure.source, documents) for failure in report.failures()})
        return report

    def save_upload(self, name: str, data: bytes, kb: str = DEFAULT_KB) -> tuple[Path, bool]:
        """Save a file a browser or client sent under `kb`'s documents folder (`uploads/`, never
        over another file, within `ingest.max_upload_mb`): where it landed and whether that file
        is new. UploadError says why it cannot be saved; `ingest` indexes it."""
        settings = self.catalog.settings_for(kb)
        limit = int(settings.ingest.max_upload_mb * 1_000_000)
        return save_upload(settings.paths.documents, name, data, limit)

    def forget(
        self, sources: list[str], on_message: Callable[[str], None] = print, kb: str = DEFAULT_KB
    ) -> IngestReport:
        """Remove files from the index of `kb` (they stay on disk)."""
        settings = self.catalog.settings_for(kb)
        with self.queue.seat(), commands_for(kb):
            return forget(settings, self.live.embedder_for(kb), sources, on_message=on_message)

    def check(self, kb: str = DEFAULT_KB) -> IndexHealth:
        """Open the live index of `kb` as answering does and report what keeps it from working;
        its problems and notes name the commands for `kb`."""
        health = check_index(self.catalog.settings_for(kb), self.live.embedder_for(kb))
        return replace(
            health,
            problems=[kb_commands(problem, kb) for problem in health.problems],
            notes=[kb_commands(note, kb) for note in health.notes],
        )

    def repair(
        self,
        kb: str = DEFAULT_KB,
        on_message: Callable[[str], None] = print,
        *,
        show_progress: bool = False,
        lock_wait_seconds: float = 600.0,
    ) -> IngestReport:
        """Rebuild the index of `kb` from the documents it was built from, beside the damaged
        version (`index.check.repair_index`)."""
        settings = self.catalog.settings_for(kb)
        with self.queue.seat(), commands_for(kb):
            return repair_index(
                settings,
                self.live.embedder_for(kb),
                show_progress=show_progress,
                lock_wait_seconds=lock_wait_seconds,
                on_message=on_message,
            )


def _remove(files: Iterable[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
