"""The knowledge-base page: what is indexed, adding files, removing them, rebuilding.

Everyone who may read a knowledge base sees what it holds; the controls that change it are drawn
only for those who may write it (`KnowledgeBaseService.allows`), and the ingest service checks
the person again on every call.

It asks the same ingest service as `ingest.py` (`services.ingesting`): under the same lock, after
the answers already waiting for the local model, and the index is switched atomically, so a
chat running in another tab never sees a half-built index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import streamlit as st

from errors import RagchatError
from i18n import _, explain, format_count, format_datetime, format_number, format_size, ngettext
from index.errors import IndexNotFoundError, IndexStoreError
from index.updater import IngestReport
from loaders import SUPPORTED_SUFFIXES
from loaders.uploads import safe_upload_name
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB, IndexContents
from services.people import Person
from services.permissions import Action
from ui import errors, knowledge_bases


def page(hub: ServiceHub, kb: str | None, person: Person) -> None:
    """The page for knowledge base `kb` as `person` sees it (None: they may read none); the
    knowledge bases themselves are managed at the end."""
    if kb is None:
        st.title(_("Knowledge bases"))
    else:
        st.title(_("Knowledge base: {name}").format(name=kb))
        _contents(hub, kb, person)
    knowledge_bases.manage(hub, kb, person)


def _contents(hub: ServiceHub, kb: str, person: Person) -> None:
    """What the index holds, and, for a person who may change it, the controls that do."""
    if hub.knowledge_bases.allows(kb, Action.WRITE, person=person):
        _index(hub, kb, person)
    else:
        _read_only(hub, kb, person)


def _read_only(hub: ServiceHub, kb: str, person: Person) -> None:
    """What the index holds, for a person who may not change it."""
    try:
        hub.knowledge_bases.open(kb, person=person)
    except IndexNotFoundError:
        st.info(_("No index yet: someone who may change this knowledge base has to index it."))
        return
    except IndexStoreError as err:
        errors.show(err, then=_("Someone who may change this knowledge base can rebuild it."))
        return
    _stats(hub, kb, person, hub.knowledge_bases.contents(kb, person=person))


def _index(hub: ServiceHub, kb: str, person: Person) -> None:
    """What the index holds, adding files, removing them, rebuilding."""
    try:
        hub.knowledge_bases.open(kb, person=person)  # as the chat opens it: damage shows here
    except IndexNotFoundError:
        documents = hub.knowledge_bases.settings_for(kb, person=person).paths.documents
        st.info(
            _("No index yet. Index the documents in `{folder}` to start.").format(folder=documents)
        )
        label = _("Index the sample documents") if kb == DEFAULT_KB else _("Index the documents")
        if st.button(label, type="primary"):
            _run_ingest(hub, kb, person, None, rebuild=False)
            st.rerun()
    except IndexStoreError as err:
        _unusable(hub, kb, person, err)
        return
    else:
        _stats(hub, kb, person, hub.knowledge_bases.contents(kb, person=person))
    _upload(hub, kb, person)
    contents = hub.knowledge_bases.contents(kb, person=person)  # an upload writes a new version
    if contents is not None:
        _remove(hub, kb, person, contents)
        _rebuild(hub, kb, person)


def _unusable(hub: ServiceHub, kb: str, person: Person, err: IndexStoreError) -> None:
    """A damaged index (or another embedder's): what to run, the indexed files if the manifest
    still reads, the upload (indexed once the index is whole) and the rebuild, which reads
    nothing of the damaged index."""
    errors.show(err, then=_("Or use **Rebuild** below: it reads only the documents."))
    with contextlib.suppress(IndexStoreError):
        _stats(hub, kb, person, hub.knowledge_bases.contents(kb, person=person))
    _upload(hub, kb, person)
    _rebuild(hub, kb, person)


def _stats(hub: ServiceHub, kb: str, person: Person, contents: IndexContents | None) -> None:
    if contents is None:
        return
    identity = hub.knowledge_bases.embedder(kb, person=person)
    columns = st.columns(4)
    columns[0].metric(_("Files"), format_count(len(contents.files)))
    columns[1].metric(_("Chunks"), format_count(contents.chunks))
    columns[2].metric(_("Size on disk"), format_size(contents.size_bytes))
    columns[3].metric(_("Last ingest"), format_datetime(contents.updated_at))
    store = " · ".join(
        str(contents.store[key]) for key in ("backend", "collection") if key in contents.store
    )
    st.caption(
        _("Embedder: {backend} · {model} · {dimension} dimensions · store: {store}").format(
            backend=identity.backend,
            model=identity.model,
            dimension=identity.dimension,
            store=store,
        )
    )
    st.dataframe(
        [{_("file"): f.source, _("chunks"): f.chunks} for f in contents.files.values()],
        width="stretch",
        hide_index=True,
    )


def _upload(hub: ServiceHub, kb: str, person: Person) -> None:
    st.subheader(_("Add files"))
    uploads = st.file_uploader(
        _("Files are saved to the documents folder and indexed."),
        type=sorted(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES),
        accept_multiple_files=True,
    )
    if uploads and st.button(_("Save and index"), type="primary"):
        saved, new = [], set()
        for upload in uploads:
            try:  # never a path from the browser, never over another file
                target, created = hub.ingesting.save_upload(
                    upload.name, upload.getvalue(), kb, person=person
                )
            except RagchatError as err:
                errors.show(err)
                continue
            if target.name != safe_upload_name(upload.name):
                st.info(
                    _("{name}: another file has that name; saved as {saved}").format(
                        name=upload.name, saved=target.name
                    )
                )
            saved.append(target)
            if created:
                new.add(target)
        if saved:
            _run_ingest(hub, kb, person, saved, rebuild=False, new_uploads=new)


def _remove(hub: ServiceHub, kb: str, person: Person, contents: IndexContents) -> None:
    st.subheader(_("Remove from the index"))
    chosen = st.multiselect(_("Files (they stay on disk)"), list(contents.files))
    if chosen and st.button(_("Remove")):
        try:
            report = hub.ingesting.forget(chosen, on_message=st.info, kb=kb, person=person)
        except RagchatError as err:
            errors.show(err)
            return
        removed = report.count("removed")
        st.success(
            ngettext(
                "Removed {count} file; {chunks} chunks remain.",
                "Removed {count} files; {chunks} chunks remain.",
                removed,
            ).format(count=format_count(removed), chunks=format_count(report.total_chunks))
        )


def _rebuild(hub: ServiceHub, kb: str, person: Person) -> None:
    st.subheader(_("Rebuild"))
    sure = st.checkbox(_("Yes, re-read and re-embed every document"))
    if st.button(_("Rebuild the index"), disabled=not sure):
        _run_ingest(hub, kb, person, None, rebuild=True)


def _run_ingest(
    hub: ServiceHub,
    kb: str,
    person: Person,
    paths: list[Path] | None,
    rebuild: bool,
    new_uploads: Iterable[Path] = (),
) -> None:
    """Ingest with a progress bar, and show the report (`IngestService.ingest` for
    `new_uploads`)."""
    with st.status(_("Indexing…"), expanded=True) as status:
        bar = st.progress(0.0, text=_("Embedding…"))
        try:
            report = hub.ingesting.ingest(
                paths,
                rebuild=rebuild,
                new_uploads=new_uploads,
                kb=kb,
                person=person,
                on_message=st.write,
                on_progress=lambda done, total: bar.progress(
                    done / total,
                    _("Embedded {done}/{total} chunks").format(
                        done=format_count(done), total=format_count(total)
                    ),
                ),
            )
        except RagchatError as err:
            status.update(label=_("Indexing failed"), state="error")
            errors.show(err)
            return
        took = _("Indexed in {seconds} s").format(seconds=format_number(round(report.seconds, 1)))
        status.update(label=took, state="complete", expanded=False)
    _show_report(report)


def _show_report(report: IngestReport) -> None:
    for outcome in report.outcomes:
        if outcome.status == "failed":
            reason = explain(outcome.problem) if outcome.problem else outcome.reason
            st.error(f"{outcome.source}: {reason}")
        elif outcome.status != "unchanged":
            chunks = ngettext("{count} chunk", "{count} chunks", outcome.chunks)
            st.success(
                f"{_(outcome.status)}: {outcome.source} ("
                + chunks.format(count=format_count(outcome.chunks))
                + ")"
            )
    st.write(
        _("The index holds {chunks} chunks from {files} files.").format(
            chunks=format_count(report.total_chunks), files=format_count(report.total_files)
        )
    )
