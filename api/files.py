"""The knowledge base over HTTP, in the shape of OpenAI's Files API (so `client.files.list()`,
`.create()` and `.delete()` work) of one knowledge base (`kb`: a query parameter, or a form
field of the upload; default `default`): list the indexed files, upload one (saved under the
documents folder's `uploads/`, never over another file, and indexed incrementally, under the
same lock as `ingest.py` and after the answers waiting for the local model), remove one from
the index."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, UploadFile

from api.errors import ApiError
from index.catalog import DEFAULT_KB
from index.store import IndexStoreError, current_version, read_manifest
from index.updater import IngestReport
from loaders.uploads import UploadError, UploadTooLarge, save_upload
from services.answering import ServiceHub


def files_router(hub: ServiceHub) -> APIRouter:
    router = APIRouter()
    limit = int(hub.settings.ingest.max_upload_mb * 1_000_000)

    @router.get("/v1/files")
    def list_files(kb: str = DEFAULT_KB) -> dict:
        version = current_version(hub.settings_for(kb).paths.index)
        files = read_manifest(version).files if version else {}
        return {
            "object": "list",
            "data": [
                _file(s, r.size, r.indexed_at, len(r.chunk_ids)) for s, r in sorted(files.items())
            ],
            "has_more": False,  # one page: the `openai` client's iteration stops here
        }

    @router.post("/v1/files")
    async def upload(
        file: UploadFile,
        kb: str = DEFAULT_KB,
        kb_field: Annotated[str | None, Form(alias="kb")] = None,
    ) -> dict:
        kb = kb_field or kb
        settings = hub.settings_for(kb)
        data = await file.read(limit + 1)
        try:
            name = file.filename or ""
            target, new = save_upload(settings.paths.documents, name, data, limit)
        except UploadTooLarge as err:
            raise ApiError(413, "file_too_large", f"{err} (ingest.max_upload_mb)", "file") from None
        except UploadError as err:
            raise ApiError(400, "invalid_file", str(err), "file") from None
        report = await asyncio.to_thread(_index, hub, target, new, kb)
        outcome = report.outcomes[0]
        if outcome.status == "failed":
            raise ApiError(422, "unreadable_file", f"{outcome.source}: {outcome.reason}", "file")
        record = read_manifest(current_version(settings.paths.index)).files[outcome.source]
        return {
            **_file(outcome.source, record.size, record.indexed_at, outcome.chunks),
            "status": "processed",
            "ingest": outcome.status,
        }

    @router.delete("/v1/files/{source:path}")
    async def remove(source: str, kb: str = DEFAULT_KB) -> dict:
        report = await asyncio.to_thread(hub.forget, [source], lambda _: None, kb)
        if report.count("removed") == 0:
            raise ApiError(404, "file_not_found", f"{source!r} is not in the index", "file_id")
        return {"id": source, "object": "file", "deleted": True}

    return router


def _file(source: str, size: int, indexed_at: float, chunks: int) -> dict:
    return {
        "id": source,
        "object": "file",
        "bytes": size,
        "created_at": int(indexed_at),
        "filename": source,
        "purpose": "assistants",
        "status": "processed",
        "chunks": chunks,
    }


def _index(hub: ServiceHub, target: Path, new: bool, kb: str) -> IngestReport:
    """Index a saved upload (a new file that cannot be indexed is removed again)."""
    try:
        return hub.ingest(
            [target], on_message=lambda _: None, new_uploads=[target] if new else [], kb=kb
        )
    except IndexStoreError as err:
        raise ApiError(503, "index_busy", str(err)) from None
