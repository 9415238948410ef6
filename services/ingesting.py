"""Ingest as every face runs it: index documents, save an upload, remove files from the index,
check the index and repair it (`index.updater`, `index.check`).

Everything that writes waits in the local model's line (`llms.queue`), after the answers
already waiting, so embedding and generation never run at once. Errors name their `python
ingest.py` commands with `--kb` for a named knowledge base.

After each ingest the outlines of the files whose text changed are brought up to date
(`services.outlines`): summaries and overviews read them.

Every method takes the `person` who asks (keyword-only; the CLIs' LOCAL_OPERATOR by default) and
needs write on the knowledge base (`services.permissions`); uploads and removals are audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from opentelemetry import trace
from opentelemetry.trace import Span

from index.catalog import DEFAULT_KB, KnowledgeBaseCatalog, kb_commands
from index.check import IndexHealth, check_index, repair_index
from index.errors import IndexStoreError
from index.manifest import read_manifest
from index.updater import IngestReport, forget, ingest, source_name, source_path
from index.versions import current_version
from llms.queue import ModelQueue
from loaders.uploads import save_upload
from observability.metrics import INGESTED_CHUNKS, INGESTED_FILES
from observability.stages import Record
from services.guard import Guard
from services.live import LiveIndexes, commands_for
from services.outlines import OutlineStore, OutlineSync, outline_path
from services.people import LOCAL_OPERATOR, Audited, Person
from services.permissions import Action

tracer = trace.get_tracer(__name__)


class IngestService:
    """Ingest, uploads, forget, check and repair over the knowledge bases of `catalog`."""

    def __init__(
        self, catalog: KnowledgeBaseCatalog, live: LiveIndexes, queue: ModelQueue, guard: Guard
    ) -> None:
        self.catalog = catalog
        self.live = live
        self.queue = queue
        self.guard = guard

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
        person: Person = LOCAL_OPERATOR,
    ) -> IngestReport:
        """Index the files under `paths` (default: the documents folders) of knowledge base
        `kb`. `new_uploads`, files an upload has just created (app and API), are removed again
        if they cannot be indexed, so a refused upload leaves nothing behind; those indexed
        are audited as uploaded by `person`."""
        self.guard.require(person, Action.WRITE, kb)
        settings = self.catalog.settings_for(kb)
        new = {path.resolve() for path in new_uploads}
        record = Record(settings.tracing.include_content)
        try:
            with (
                self.queue.seat(person.name),
                commands_for(kb),
                record.span(tracer, "ingest", {"ragchat.kb": kb}) as span,
            ):
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
                _describe(span, report)
                if not dry_run:
                    outlined = self._outline(kb)
                    span.set_attributes(
                        {
                            "ragchat.outlined": len(outlined.outlined),
                            "ragchat.outline_s": outlined.seconds,
                        }
                    )
        except IndexStoreError:
            _remove(new)
            raise
        documents = settings.paths.documents
        refused = new & {source_path(failure.source, documents) for failure in report.failures()}
        _remove(refused)
        if not dry_run:
            for path in sorted(new - refused):
                upload = source_name(path, documents)
                self.guard.audit(person, Audited.FILE_UPLOAD, kb, upload)
        return report

    def _outline(self, kb: str) -> OutlineSync:
        """Bring the outlines of `kb` up to date with its live index: only the files whose
        content changed are read and outlined, those removed are forgotten; when the
        manifest shows no change the index is not even opened (`services.outlines`)."""
        settings = self.catalog.settings_for(kb)
        store = OutlineStore(outline_path(settings.paths.index))
        version = current_version(settings.paths.index, settings.store)
        if version is None or store.up_to_date(read_manifest(version).files):
            return OutlineSync()
        return store.sync(self.live.open(kb).knowledge_base)

    def save_upload(
        self, name: str, data: bytes, kb: str = DEFAULT_KB, *, person: Person = LOCAL_OPERATOR
    ) -> tuple[Path, bool]:
        """Save a file a browser or client sent under `kb`'s documents folder (`uploads/`, never
        over another file, within `ingest.max_upload_mb`): where it landed and whether that file
        is new. UploadError says why it cannot be saved; `ingest` indexes it."""
        self.guard.require(person, Action.WRITE, kb)
        settings = self.catalog.settings_for(kb)
        limit = int(settings.ingest.max_upload_mb * 1_000_000)
        return save_upload(settings.paths.documents, name, data, limit)

    def forget(
        self,
        sources: list[str],
        on_message: Callable[[str], None] = print,
        kb: str = DEFAULT_KB,
        *,
        person: Person = LOCAL_OPERATOR,
    ) -> IngestReport:
        """Remove files from the index of `kb` (they stay on disk); audited."""
        self.guard.require(person, Action.WRITE, kb)
        settings = self.catalog.settings_for(kb)
        with self.queue.seat(person.name), commands_for(kb):
            report = forget(settings, self.live.embedder_for(kb), sources, on_message=on_message)
            self._outline(kb)
        for outcome in report.outcomes:
            if outcome.status == "removed":
                self.guard.audit(person, Audited.FILE_REMOVE, kb, outcome.source)
        return report

    def check(self, kb: str = DEFAULT_KB, *, person: Person = LOCAL_OPERATOR) -> IndexHealth:
        """Open the live index of `kb` as answering does and report what keeps it from working;
        its problems and notes name the commands for `kb`."""
        self.guard.require(person, Action.WRITE, kb)
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
        person: Person = LOCAL_OPERATOR,
    ) -> IngestReport:
        """Rebuild the index of `kb` from the documents it was built from, beside the damaged
        version (`index.check.repair_index`)."""
        self.guard.require(person, Action.WRITE, kb)
        settings = self.catalog.settings_for(kb)
        with self.queue.seat(person.name), commands_for(kb):
            return repair_index(
                settings,
                self.live.embedder_for(kb),
                show_progress=show_progress,
                lock_wait_seconds=lock_wait_seconds,
                on_message=on_message,
            )


def _describe(span: Span, report: IngestReport) -> None:
    """An ingest's sizes on its span and, unless it was a dry run, in the metrics."""
    span.set_attributes(
        {
            "ragchat.files": len(report.outcomes),
            "ragchat.chunks": report.embedded + report.reused,
            "ragchat.chunks_embedded": report.embedded,
            "ragchat.failed": len(report.failures()),
        }
    )
    if report.dry_run:
        return
    for outcome in report.outcomes:
        INGESTED_FILES.labels(outcome.status).inc()
    INGESTED_CHUNKS.inc(report.embedded)


def _remove(files: Iterable[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
