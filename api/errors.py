"""Every failure as OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`,
with one clear message and never a stack trace, so OpenAI clients raise their usual errors."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from index.catalog import KnowledgeBaseError, KnowledgeBaseNotFoundError
from index.store import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
)

log = logging.getLogger("ragchat.api")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
}

INDEX_ERROR_CODES: dict[type[IndexStoreError], str] = {
    IndexNotFoundError: "index_not_found",
    IndexCorruptError: "index_damaged",
    IndexMismatchError: "index_mismatch",
    IndexBusyError: "index_busy",
}


class ApiError(Exception):
    """A request that cannot be served: HTTP status, a code clients can branch on, a message."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict:
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _response(status: int, code: str, message: str, param: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, param), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, err: ApiError) -> JSONResponse:
        return _response(err.status, err.code, err.message, err.param)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, err: RequestValidationError) -> JSONResponse:
        problem = err.errors()[0]
        where = ".".join(str(part) for part in problem["loc"] if part != "body")
        return _response(400, "invalid_request", f"{where}: {problem['msg']}", where or None)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, err: HTTPException) -> JSONResponse:
        return _response(err.status_code, "http_error", str(err.detail))

    @app.exception_handler(KnowledgeBaseError)
    async def knowledge_base_error(_request: Request, err: KnowledgeBaseError) -> JSONResponse:
        """An unknown knowledge base (404), or a name or operation that is refused (400)."""
        if isinstance(err, KnowledgeBaseNotFoundError):
            return _response(404, "knowledge_base_not_found", str(err), "kb")
        return _response(400, "invalid_knowledge_base", str(err), "kb")

    @app.exception_handler(IndexStoreError)
    async def index_unavailable(_request: Request, err: IndexStoreError) -> JSONResponse:
        """An index a route could not open (damaged, missing, another model's): its message
        names the file and the command to run."""
        return _response(503, INDEX_ERROR_CODES.get(type(err), "index_unavailable"), str(err))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")  # the trace goes to the server's log only
        return _response(500, "internal_error", f"internal error: {type(err).__name__}: {err}")
