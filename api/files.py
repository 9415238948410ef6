"""The knowledge base over HTTP, in the shape of OpenAI's Files API (so `client.files.list()`,
`.create()` and `.delete()` work) of one knowledge base (`kb`: a query parameter, or a form
field of the upload; default `default`): list the indexed files, upload one (saved under the
documents folder's `uploads/`, never over another file, and indexed incrementally, under the
same lock as `ingest.py` and after the answers waiting for the local model), remove one from
the index. Listing needs read on the knowledge base, uploading and removing write (404 where the
person may not read it, 403 where they may read but not write)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, UploadFile

from api.auth import Caller
from api.errors import ApiError
from services.container import ServiceHub
from services.knowledge_bases import DEFAULT_KB, IndexedFile


def files_router(hub: ServiceHub) -> APIRouter:
    router = APIRouter()
    knowledge_bases, ingesting = hub.knowledge_bases, hub.ingesting
    limit = int(hub.settings.ingest.max_upload_mb * 1_000_000)

    @router.get("/v1/files")
    def list_files(person: Caller, kb: str = DEFAULT_KB) -> dict:
        contents = knowledge_bases.contents(kb, person=person)
        return {
            "object": "list",
            "data": [_file(f) for f in contents.files.values()] if contents else [],
            "has_more": False,  # one page: the `openai` client's iteration stops here
        }

    @router.post("/v1/files")
    async def upload(
        file: UploadFile,
        person: Caller,
        kb: str = DEFAULT_KB,
        kb_field: Annotated[str | None, Form(alias="kb")] = None,
    ) -> dict:
        kb = kb_field or kb
        data = await file.read(limit + 1)  # enough to tell that it is too large
        target, new = ingesting.save_upload(file.filename or "", data, kb, person=person)
        report = await asyncio.to_thread(
            ingesting.ingest,
            [target],
            on_message=lambda _: None,
            new_uploads=[target] if new else [],
            kb=kb,
            person=person,
        )
        outcome = report.outcomes[0]
        if outcome.status == "failed":
            raise ApiError(422, "unreadable_file", f"{outcome.source}: {outcome.reason}", "file")
        indexed = knowledge_bases.contents(kb, person=person).files[outcome.source]
        return {**_file(indexed), "status": "processed", "ingest": outcome.status}

    @router.delete("/v1/files/{source:path}")
    async def remove(source: str, person: Caller, kb: str = DEFAULT_KB) -> dict:
        report = await asyncio.to_thread(
            ingesting.forget, [source], lambda _: None, kb, person=person
        )
        if report.count("removed") == 0:
            raise ApiError(404, "file_not_found", f"{source!r} is not in the index", "file_id")
        return {"id": source, "object": "file", "deleted": True}

    return router


def _file(indexed: IndexedFile) -> dict:
    return {
        "id": indexed.source,
        "object": "file",
        "bytes": indexed.size,
        "created_at": int(indexed.indexed_at),
        "filename": indexed.source,
        "purpose": "assistants",
        "status": "processed",
        "chunks": indexed.chunks,
    }
