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
import time
from collections.abc import Iterable
from pathlib import Path

import streamlit as st

from errors import RagchatError
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
        st.title("Knowledge bases")
    else:
        st.title(f"Knowledge base: {kb}")
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
        st.info("No index yet: someone who may change this knowledge base has to index it.")
        return
    except IndexStoreError as err:
        errors.show(err, then="Someone who may change this knowledge base can rebuild it.")
        return
    _stats(hub, kb, person, hub.knowledge_bases.contents(kb, person=person))


def _index(hub: ServiceHub, kb: str, person: Person) -> None:
    """What the index holds, adding files, removing them, rebuilding."""
    try:
        hub.knowledge_bases.open(kb, person=person)  # as the chat opens it: damage shows here
    except IndexNotFoundError:
        documents = hub.knowledge_bases.settings_for(kb, person=person).paths.documents
        st.info(f"No index yet. Index the documents in `{documents}` to start.")
        label = "Index the sample documents" if kb == DEFAULT_KB else "Index the documents"
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
    errors.show(err, then="Or use **Rebuild** below: it reads only the documents.")
    with contextlib.suppress(IndexStoreError):
        _stats(hub, kb, person, hub.knowledge_bases.contents(kb, person=person))
    _upload(hub, kb, person)
    _rebuild(hub, kb, person)


def _stats(hub: ServiceHub, kb: str, person: Person, contents: IndexContents | None) -> None:
    if contents is None:
        return
    identity = hub.knowledge_bases.embedder(kb, person=person)
    columns = st.columns(4)
    columns[0].metric("Files", len(contents.files))
    columns[1].metric("Chunks", contents.chunks)
    columns[2].metric("Size on disk", f"{contents.size_bytes / 1e6:.1f} MB")
    columns[3].metric(
        "Last ingest", time.strftime("%Y-%m-%d %H:%M", time.localtime(contents.updated_at))
    )
    store = " · ".join(
        str(contents.store[key]) for key in ("backend", "collection") if key in contents.store
    )
    st.caption(
        f"Embedder: {identity.backend} · {identity.model} · {identity.dimension} dimensions"
        f" · store: {store}"
    )
    st.dataframe(
        [{"file": f.source, "chunks": f.chunks} for f in contents.files.values()],
        width="stretch",
        hide_index=True,
    )


def _upload(hub: ServiceHub, kb: str, person: Person) -> None:
    st.subheader("Add files")
    uploads = st.file_uploader(
        "Files are saved to the documents folder and indexed.",
        type=sorted(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES),
        accept_multiple_files=True,
    )
    if uploads and st.button("Save and index", type="primary"):
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
                st.info(f"{upload.name}: another file has that name; saved as {target.name}")
            saved.append(target)
            if created:
                new.add(target)
        if saved:
            _run_ingest(hub, kb, person, saved, rebuild=False, new_uploads=new)


def _remove(hub: ServiceHub, kb: str, person: Person, contents: IndexContents) -> None:
    st.subheader("Remove from the index")
    chosen = st.multiselect("Files (they stay on disk)", list(contents.files))
    if chosen and st.button("Remove"):
        try:
            report = hub.ingesting.forget(chosen, on_message=st.info, kb=kb, person=person)
        except RagchatError as err:
            errors.show(err)
            return
        st.success(f"Removed {report.count('removed')} files; {report.total_chunks} chunks remain.")


def _rebuild(hub: ServiceHub, kb: str, person: Person) -> None:
    st.subheader("Rebuild")
    sure = st.checkbox("Yes, re-read and re-embed every document")
    if st.button("Rebuild the index", disabled=not sure):
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
    with st.status("Indexing…", expanded=True) as status:
        bar = st.progress(0.0, text="Embedding…")
        try:
            report = hub.ingesting.ingest(
                paths,
                rebuild=rebuild,
                new_uploads=new_uploads,
                kb=kb,
                person=person,
                on_message=st.write,
                on_progress=lambda done, total: bar.progress(
                    done / total, f"Embedded {done}/{total} chunks"
                ),
            )
        except RagchatError as err:
            status.update(label="Indexing failed", state="error")
            errors.show(err)
            return
        status.update(label=f"Indexed in {report.seconds:.1f} s", state="complete", expanded=False)
    _show_report(report)


def _show_report(report: IngestReport) -> None:
    for outcome in report.outcomes:
        if outcome.status == "failed":
            st.error(f"{outcome.source}: {outcome.reason}")
        elif outcome.status != "unchanged":
            st.success(f"{outcome.status}: {outcome.source} ({outcome.chunks} chunks)")
    st.write(f"The index holds {report.total_chunks} chunks from {report.total_files} files.")
