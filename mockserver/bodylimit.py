"""One limit on every request body, enforced while it is read: the mock never buffers past it.

Flowise caps JSON and form bodies at ``FLOWISE_FILE_SIZE_LIMIT`` (express's body parsers) and answers
413; here the same limit covers the whole body of every route, multipart uploads and the mock's own
routes included, counted over all of a request's chunks (a declared ``Content-Length`` over the limit is
refused before a byte of the body is read). A body that does not arrive within ``body_timeout_s`` is
refused with 408, so a client trickling bytes cannot hold a request open for ever.

The errors are raised from ``receive``, inside whatever is reading; both are ``FlowiseError``s, so the
pipeline and the mock's own routes answer them in their usual shapes. If one escapes before a response
started, this middleware answers it itself.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.errors import FlowiseError

__all__ = ["BodyLimit", "BodyTimeoutError", "BodyTooLargeError"]


class BodyTooLargeError(FlowiseError):
    """The body is larger than the limit: Flowise's 413."""

    def __init__(self) -> None:
        super().__init__(413, "request entity too large")


class BodyTimeoutError(FlowiseError):
    """The body did not arrive in time."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(408, f"request body not received within {timeout_s:g} s")


def _error_response(path: str, error: FlowiseError) -> Response:
    if path.startswith("/v1/"):  # the OpenAI-compatible routes answer in OpenAI's shape
        kind = "invalid_request_error"
        return JSONResponse({"error": {"message": error.message, "type": kind, "param": None, "code": None}},
                            status_code=error.status, headers={"Connection": "close"})
    response = error.response()
    response.headers["Connection"] = "close"
    return response


async def _drained(receive: Receive) -> bool:
    """Read and drop the rest of a body the app answered without reading, as Flowise's body parsers
    read every JSON body before any route answers. A reverse proxy still sending a body the answer
    has overtaken may cut that answer (Caddy 2.6 does); False when the body broke the limit or its
    deadline (the connection is then closed after the answer)."""
    try:
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return bool(message["type"] == "http.request")
    except (BodyTooLargeError, BodyTimeoutError):
        return False


class BodyLimit:
    """Pure ASGI middleware: streams pass through untouched; only ``receive`` is watched."""

    def __init__(self, app: ASGIApp, *, limit: int, timeout_s: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        has_body = False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if value.isdigit() and int(value) > self.limit:
                    await _error_response(path, BodyTooLargeError())(scope, receive, send)
                    return
                has_body = value != b"0"
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:  # nothing to read, nothing to watch (most GETs): no cost per request
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        received = 0
        complete = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: later calls wait for the disconnect, for as long as it takes
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):  # no task per read, unlike wait_for
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError(self.timeout_s) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLargeError()
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not complete and not await _drained(limited_receive):
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except (BodyTooLargeError, BodyTimeoutError) as error:
            if started:
                raise
            await _error_response(path, error)(scope, receive, send)
