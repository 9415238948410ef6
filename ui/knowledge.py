"""The knowledge-base page: what is indexed, adding files, removing them, rebuilding.

It runs the same code as `ingest.py` (`index.updater`) through the service hub: under the same
lock, after the answers already waiting for the local model, and the index is switched
atomically, so a chat running in another tab never sees a half-built index.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from pathlib import Path

import streamlit as st

from chains.service import ServiceHub
from index.store import IndexStoreError, current_version, read_manifest
from index.updater import IngestReport
from loaders import SUPPORTED_SUFFIXES
from loaders.uploads import UploadError, safe_upload_name, save_upload


def page(hub: ServiceHub) -> None:
    settings = hub.settings
    st.title("Knowledge base")
    try:
        version = current_version(settings.paths.index)
        if version is not None:
            hub.knowledge_base()  # opened as the chat opens it, so damage shows here too
    except IndexStoreError as err:
        _unusable(hub, err)
        return
    if version is None:
        st.info(f"No index yet. Index the documents in `{settings.paths.documents}` to start.")
        if st.button("Index the sample documents", type="primary"):
            _run_ingest(hub, None, rebuild=False)
            st.rerun()
    else:
        _stats(hub, version)
    _upload(hub)
    if version is not None:
        _remove(hub, version)
        _rebuild(hub)


def _unusable(hub: ServiceHub, err: IndexStoreError) -> None:
    """A damaged index (or another embedder's): what to run, the indexed files if the manifest
    still reads, the upload (indexed once the index is whole) and the rebuild, which reads
    nothing of the damaged index."""
    st.error(f"{err}\n\nOr use **Rebuild** below: it reads only the documents.")
    with contextlib.suppress(IndexStoreError):
        _stats(hub, current_version(hub.settings.paths.index))
    _upload(hub)
    _rebuild(hub)


def _stats(hub: ServiceHub, version: Path) -> None:
    manifest = read_manifest(version)
    identity = hub.embedder.identity
    size = sum(f.stat().st_size for f in version.iterdir())
    chunks = sum(len(record.chunk_ids) for record in manifest.files.values())
    columns = st.columns(4)
    columns[0].metric("Files", len(manifest.files))
    columns[1].metric("Chunks", chunks)
    columns[2].metric("Size on disk", f"{size / 1e6:.1f} MB")
    columns[3].metric(
        "Last ingest", time.strftime("%Y-%m-%d %H:%M", time.localtime(manifest.updated_at))
    )
    st.caption(f"Embedder: {identity.backend} · {identity.model} · {identity.dimension} dimensions")
    st.dataframe(
        [
            {"file": source, "chunks": len(record.chunk_ids)}
            for source, record in sorted(manifest.files.items())
        ],
        width="stretch",
        hide_index=True,
    )


def _upload(hub: ServiceHub) -> None:
    st.subheader("Add files")
    uploads = st.file_uploader(
        "Files are saved to the documents folder and indexed.",
        type=sorted(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES),
        accept_multiple_files=True,
    )
    if uploads and st.button("Save and index", type="primary"):
        saved, new = [], set()
        limit = int(hub.settings.ingest.max_upload_mb * 1_000_000)
        for upload in uploads:
            try:  # never a path from the browser, never over another file
                target, created = save_upload(
                    hub.settings.paths.documents, upload.name, upload.getvalue(), limit
                )
            except UploadError as err:
                st.error(str(err))
                continue
            if target.name != safe_upload_name(upload.name):
                st.info(f"{upload.name}: another file has that name; saved as {target.name}")
            saved.append(target)
            if created:
                new.add(target)
        if saved:
            _run_ingest(hub, saved, rebuild=False, new_uploads=new)


def _remove(hub: ServiceHub, version: Path) -> None:
    st.subheader("Remove from the index")
    sources = sorted(read_manifest(version).files)
    chosen = st.multiselect("Files (they stay on disk)", sources)
    if chosen and st.button("Remove"):
        report = hub.forget(chosen, on_message=st.info)
        st.success(f"Removed {report.count('removed')} files; {report.total_chunks} chunks remain.")


def _rebuild(hub: ServiceHub) -> None:
    st.subheader("Rebuild")
    sure = st.checkbox("Yes, re-read and re-embed every document")
    if st.button("Rebuild the index", disabled=not sure):
        _run_ingest(hub, None, rebuild=True)


def _run_ingest(
    hub: ServiceHub, paths: list[Path] | None, rebuild: bool, new_uploads: Iterable[Path] = ()
) -> None:
    """Ingest with a progress bar, and show the report (`ServiceHub.ingest` for
    `new_uploads`)."""
    with st.status("Indexing…", expanded=True) as status:
        bar = st.progress(0.0, text="Embedding…")
        try:
            report = hub.ingest(
                paths,
                rebuild=rebuild,
                new_uploads=new_uploads,
                on_message=st.write,
                on_progress=lambda done, total: bar.progress(
                    done / total, f"Embedded {done}/{total} chunks"
                ),
            )
        except IndexStoreError as err:
            status.update(label="Indexing failed", state="error")
            st.error(str(err))
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
