"""`/v1/knowledge_bases`: list the knowledge bases with their statistics, create one (with its
own documents folder: a client never names folders on the server), rename one, delete one.
Chat completions and the Files API pick one with `kb`."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from index.catalog import KnowledgeBaseStats
from services.answering import ServiceHub


class KnowledgeBaseName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def knowledge_bases_router(hub: ServiceHub) -> APIRouter:
    router = APIRouter()
    catalog = hub.catalog

    @router.get("/v1/knowledge_bases")
    def list_knowledge_bases() -> dict:
        rows = [_row(catalog.stats(name)) for name in catalog.names()]
        return {"object": "list", "data": rows, "has_more": False}

    @router.post("/v1/knowledge_bases")
    def create(body: KnowledgeBaseName) -> dict:
        catalog.create(body.name)
        return _row(catalog.stats(body.name))

    @router.patch("/v1/knowledge_bases/{name}")
    async def rename(name: str, body: KnowledgeBaseName) -> dict:
        await asyncio.to_thread(hub.rename_knowledge_base, name, body.name)
        return _row(catalog.stats(body.name))

    @router.delete("/v1/knowledge_bases/{name}")
    async def delete(name: str) -> dict:
        await asyncio.to_thread(hub.delete_knowledge_base, name)
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
