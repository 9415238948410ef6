"""`/v1/knowledge_bases`: list the knowledge bases with their statistics, create one (with its
own documents folder: a client never names folders on the server), rename one, delete one.
Chat completions and the Files API pick one with `kb`.

Each acts as the person who asks: the list holds only what they may read, one they may not read
is 404 `knowledge_base_not_found` as if it did not exist, and one they may read but not change
is 403 `forbidden`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.auth import Caller
from services.container import ServiceHub
from services.knowledge_bases import KnowledgeBaseStats


class KnowledgeBaseName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def knowledge_bases_router(hub: ServiceHub) -> APIRouter:
    router = APIRouter()
    knowledge_bases = hub.knowledge_bases

    @router.get("/v1/knowledge_bases")
    def list_knowledge_bases(person: Caller) -> dict:
        rows = [_row(stats) for stats in knowledge_bases.overview(person=person)]
        return {"object": "list", "data": rows, "has_more": False}

    @router.post("/v1/knowledge_bases")
    def create(body: KnowledgeBaseName, person: Caller) -> dict:
        knowledge_bases.create(body.name, person=person)
        return _row(knowledge_bases.stats(body.name, person=person))

    @router.patch("/v1/knowledge_bases/{name}")
    async def rename(name: str, body: KnowledgeBaseName, person: Caller) -> dict:
        await asyncio.to_thread(knowledge_bases.rename, name, body.name, person=person)
        return _row(knowledge_bases.stats(body.name, person=person))

    @router.delete("/v1/knowledge_bases/{name}")
    async def delete(name: str, person: Caller) -> dict:
        await asyncio.to_thread(knowledge_bases.delete, name, person=person)
        return {"id": name, "object": "knowledge_base", "deleted": True}

    return router


def _row(stats: KnowledgeBaseStats) -> dict:
    """A knowledge base as the API shows it: no server paths."""
    return {
        "id": stats.name,
        "object": "knowledge_base",
        "files": stats.files,
        "chunks": stats.chunks,
        "bytes": stats.size_bytes,
        "updated_at": int(stats.updated_at) if stats.updated_at else None,
        "embedder": stats.embedder,
        "status": "damaged" if stats.problem else "ok",
    }
