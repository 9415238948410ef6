"""The knowledge-base page: what is indexed, adding files, removing them, rebuilding.

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
from ui import errors, knowledge_bases


def page(hub: ServiceHub, kb: str) -> None:
    """The page for knowledge base `kb`; the knowledge bases themselves are managed at the end."""
    st.title(f"Knowledge base: {kb}")
    _index(hub, kb)
    knowledge_bases.manage(hub, kb)


def _index(hub: ServiceHub, kb: str) -> None:
    """What the index holds, adding files, removing them, rebuilding."""
    try:
        hub.knowledge_bases.open(kb)  # opened as the chat opens it, so damage shows here too
    except IndexNotFoundError:
        documents = hub.knowledge_bases.settings_for(kb).paths.documents
        st.info(f"No index yet. Index the documents in `{documents}` to start.")
        label = "Index the sample documents" if kb == DEFAULT_KB else "Index the documents"
        if st.button(label, type="primary"):
            _run_ingest(hub, kb, None, rebuild=False)
            st.rerun()
    except IndexStoreError as err:
        _unusable(hub, kb, err)
        return
    else:
        _stats(hub, kb, hub.knowledge_bases.contents(kb))
    _upload(hub, kb)
    contents = hub.knowledge_bases.contents(kb)  # an upload writes a new version
    if contents is not None:
        _remove(hub, kb, contents)
        _rebuild(hub, kb)


def _unusable(hub: ServiceHub, kb: str, err: IndexStoreError) -> None:
    """A damaged index (or another embedder's): what to run, the indexed files if the manifest
    still reads, the upload (indexed once the index is whole) and the rebuild, which reads
    nothing of the damaged index."""
    errors.show(err, then="Or use **Rebuild** below: it reads only the documents.")
    with contextlib.suppress(IndexStoreError):
        _stats(hub, kb, hub.knowledge_bases.contents(kb))
    _upload(hub, kb)
    _rebuild(hub, kb)


def _stats(hub: ServiceHub, kb: str, contents: IndexContents | None) -> None:
    if contents is None:
        return
    identity = hub.knowledge_bases.embedder(kb)
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


def _upload(hub: ServiceHub, kb: str) -> None:
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
                target, created = hub.ingesting.save_upload(upload.name, upload.getvalue(), kb)
            except RagchatError as err:
                errors.show(err)
                continue
            if target.name != safe_upload_name(upload.name):
                st.info(f"{upload.name}: another file has that name; saved as {target.name}")
            saved.append(target)
            if created:
                new.add(target)
        if saved:
            _run_ingest(hub, kb, saved, rebuild=False, new_uploads=new)


def _remove(hub: ServiceHub, kb: str, contents: IndexContents) -> None:
    st.subheader("Remove from the index")
    chosen = st.multiselect("Files (they stay on disk)", list(contents.files))
    if chosen and st.button("Remove"):
        report = hub.ingesting.forget(chosen, on_message=st.info, kb=kb)
        st.success(f"Removed {report.count('removed')} files; {report.total_chunks} chunks remain.")


def _rebuild(hub: ServiceHub, kb: str) -> None:
    st.subheader("Rebuild")
    sure = st.checkbox("Yes, re-read and re-embed every document")
    if st.button("Rebuild the index", disabled=not sure):
        _run_ingest(hub, kb, None, rebuild=True)


def _run_ingest(
    hub: ServiceHub,
    kb: str,
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
