"""The FastAPI application: the routes, each acting as the person who asks (`api.auth`), over
one `ServiceHub`: the OpenAI-compatible `/v1`, and the MCP server at `/mcp` (`api.mcp_http`)."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from api.auth import identifier, person_of
from api.chat import chat_router
from api.errors import install_error_handlers
from api.files import files_router
from api.knowledge_bases import knowledge_bases_router
from api.mcp_http import PATH as MCP_PATH
from api.mcp_http import McpEndpoint
from index.errors import IndexStoreError
from services.container import ServiceHub


def create_app(hub: ServiceHub) -> FastAPI:
    identify = identifier(hub)
    mcp = McpEndpoint(hub, identify)
    app = FastAPI(
        title="ragchat",
        summary="Chat with your documents: an OpenAI-compatible API and an MCP server",
        lifespan=mcp.lifespan,
    )
    app.state.identify = identify
    install_error_handlers(app)
    guarded = [Depends(person_of)]
    app.include_router(chat_router(hub), dependencies=guarded)
    app.include_router(files_router(hub), dependencies=guarded)
    app.include_router(knowledge_bases_router(hub), dependencies=guarded)
    app.add_route(MCP_PATH, mcp, include_in_schema=False)  # identifies the caller itself

    @app.get("/health")
    def health() -> dict:
        """Open to all, so it says nothing secret (no paths): is there an index, and how busy
        is the local model. A damaged index is `status: damaged`; the details are behind a key
        (any other route) and in `python ingest.py --check`."""
        status, index = "ok", None
        try:
            contents = hub.knowledge_bases.contents()
        except IndexStoreError:
            status = "damaged"
        else:
            if contents is not None:
                files, chunks = len(contents.files), contents.chunks
                index = {"version": contents.version, "files": files, "chunks": chunks}
        queued = len(hub.queue)
        return {"status": status, "index": index, "profiles": hub.profiles, "queued": queued}

    return app
