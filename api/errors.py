"""Every failure as OpenAI's error shape, `{"error": {"message", "type", "param", "code"}}`,
with one clear message and never a stack trace, so OpenAI clients raise their usual errors.

An error of the `RagchatError` family carries its own HTTP status and code, whichever layer
raised it: one handler renders them all, with the `Retry-After` header where the error says when
to try again (the local model's line is full). `ApiError` is the family member for what only the
API refuses (a request it cannot read, a model or file it does not have).

The `message` is English unless the request's `Accept-Language` asks for another language
ragchat speaks (`i18n`); `code` and `type` never change, so clients branch on those."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from errors import RagchatError
from i18n import explain, from_accept_language, using
from llms.queue import QueueFull

log = logging.getLogger("ragchat.api")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(RagchatError):
    """A request the API refuses: HTTP status, a code clients can branch on, a message, and
    the request field at fault (`param`)."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message, code=code)
        self.http_status, self.param = status, param


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict:
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _response(
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, param), status, headers)


def _headers(err: RagchatError) -> dict[str, str] | None:
    """The response headers an error asks for: when to try again after a full line."""
    if isinstance(err, QueueFull):
        return {"Retry-After": str(err.retry_after)}
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RagchatError)
    async def refused(request: Request, err: RagchatError) -> JSONResponse:
        """Any layer's error: an unknown knowledge base, or one the person may not read (404),
        one they may not change (403), a damaged or missing index (503, its message names the
        file and the command to run), an upload too large (413), a full line (429)."""
        param = err.param if isinstance(err, ApiError) else None
        with using(from_accept_language(request.headers.get("accept-language"))):
            message = explain(err)
        return _response(err.http_status, err.code, message, param, _headers(err))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, err: RequestValidationError) -> JSONResponse:
        problem = err.errors()[0]
        where = ".".join(str(part) for part in problem["loc"] if part != "body")
        return _response(400, "invalid_request", f"{where}: {problem['msg']}", where or None)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, err: HTTPException) -> JSONResponse:
        return _response(err.status_code, "http_error", str(err.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")  # the trace goes to the server's log only
        return _response(500, "internal_error", f"internal error: {type(err).__name__}: {err}")
