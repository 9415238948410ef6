"""`POST /v1/chat/completions` and `GET /v1/models`: a question in OpenAI's shape, answered by
the profile's `RagService`, streamed as OpenAI's server-sent events when asked.

The request acts as the person who asks: a knowledge base they may not read is 404
`knowledge_base_not_found`, and their place in the local model's line is theirs (the line takes
turns between people); one more request than `llm.queue_limit` waiting is 429 with
`Retry-After`, refused before anything streams.

The service's answer generator runs in a thread of its own and hands its events to the request
over an asyncio queue: a client that goes away cancels the request, which sets the answer's
cancel flag, so a waiting request leaves the line and a running one stops generating."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.auth import Caller
from api.errors import ApiError, error_body
from api.schema import ChatRequest, Completion
from services.answering import Answer, RagService, StreamEvent, Waiting
from services.container import ServiceHub
from services.people import Person

ANSWER_ERROR_STATUS = {"model_unavailable": 503, "model_error": 502}
_END = object()


def chat_router(hub: ServiceHub) -> APIRouter:
    router = APIRouter()

    @router.get("/v1/models")
    def models() -> dict:
        data = [
            {
                "id": name,
                "object": "model",
                "created": 0,
                "owned_by": "ragchat",
                "description": hub.describe(name),
            }
            for name in hub.profiles
        ]
        return {"object": "list", "data": data}

    @router.post("/v1/chat/completions", response_model=None)
    async def chat_completions(
        body: ChatRequest, request: Request, person: Caller
    ) -> dict | StreamingResponse:
        try:
            question, history = body.conversation()
        except ValueError as err:
            raise ApiError(400, "invalid_request", str(err), "messages") from None
        service = await asyncio.to_thread(_service, hub, body.model, body.kb, person)
        completion = Completion(body.model)
        cancel = threading.Event()
        answering = service.stream(question, history, body.options(), cancel, person=person)
        events = _events(answering, cancel)
        if body.stream:
            return StreamingResponse(_sse(events, completion), media_type="text/event-stream")
        async with contextlib.aclosing(_watch(events, request)) as watched:
            async for event in watched:
                if isinstance(event, Answer):
                    _raise_for(event)
                    return completion.response(event)
        raise ApiError(499, "cancelled", "the client went away")

    return router


def _service(hub: ServiceHub, profile: str, kb: str, person: Person) -> RagService:
    """The profile's service (in OpenAI's words: the model's) over knowledge base `kb`."""
    if profile not in hub.profiles:
        raise ApiError(
            404,
            "model_not_found",
            f"model {profile!r} not found; available: {', '.join(hub.profiles)}",
            "model",
        )
    return hub.service(profile, kb=kb, person=person)


def _raise_for(answer: Answer) -> None:
    status = ANSWER_ERROR_STATUS.get(answer.error_code)
    if status and answer.error:
        raise ApiError(status, answer.error_code, answer.error)


async def _events(
    answering: Iterator[StreamEvent], cancel: threading.Event
) -> AsyncIterator[StreamEvent]:
    """The events of `answering` (a `RagService.stream` with `cancel`), run in their own
    thread; leaving this generator early cancels them."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def put(item: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shutting down)
            cancel.set()

    def produce() -> None:
        try:
            for event in answering:
                put(event)
        finally:
            put(_END)

    threading.Thread(target=produce, name="ragchat-answer", daemon=True).start()
    try:
        while (event := await queue.get()) is not _END:
            yield event
    finally:
        cancel.set()


async def _watch(
    events: AsyncIterator[StreamEvent], request: Request
) -> AsyncIterator[StreamEvent]:
    """The events of a non-streamed answer, stopping (and so cancelling) if the client goes
    away while it waits: nobody would read the answer."""
    pending = asyncio.ensure_future(anext(events, _END))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=0.5)
            if not done:
                if await request.is_disconnected():
                    return
                continue
            event = pending.result()
            if event is _END:
                return
            yield event
            pending = asyncio.ensure_future(anext(events, _END))
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending  # the generator must be idle before it can be closed
        await events.aclose()


async def _sse(events: AsyncIterator[StreamEvent], completion: Completion) -> AsyncIterator[str]:
    """OpenAI's streaming format: `data: {chunk}` events, an SSE comment while waiting for the
    model (clients ignore comments), the sources in the last chunk, then `data: [DONE]`."""
    yield _data(completion.chunk(role=True))
    try:
        async for event in events:
            if isinstance(event, Waiting):
                yield f": waiting for the model, {event.ahead} ahead\n\n"
            elif isinstance(event, Answer):
                status = ANSWER_ERROR_STATUS.get(event.error_code)
                if status and event.error:
                    yield _data(error_body(status, event.error_code, event.error))
                else:
                    yield _data(completion.last_chunk(event))
            else:
                yield _data(completion.chunk(event))
    finally:
        await events.aclose()
    yield "data: [DONE]\n\n"


def _data(payload: dict) -> str:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"
