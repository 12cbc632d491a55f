"""A tiny Flowise look-alike whose behaviour can be broken one thing at a time.

It implements just enough of the contract for the suite's preflight, provisioning and a few
semantics modules to pass against it: ping/version, the auth gate, chatflow CRUD, prediction (JSON
and Flowise's SSE frames) and chat messages. Each `Breakage` flag breaks exactly one behaviour, so
a test can show the suite catches that defect and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from contract.process import serve_in_thread

API_KEY = "sk-fake-flowise-key"
SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class Breakage:
    """One defect to inject (all off: a conforming server)."""

    unknown_id_status: int = 404
    answer_without_message_id: bool = False
    sse_space_after_data: bool = False
    sse_without_end: bool = False
    auth_bypass: bool = False
    delete_keeps_resource: bool = False
    version_500: bool = False


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": status, "success": False, "message": message, "stack": {}}, status_code=status)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def build_app(breakage: Breakage = Breakage(), log: list[tuple[str, str]] | None = None) -> Any:
    """The app; every request's (method, path) is appended to `log` when one is given."""
    chatflows: dict[str, dict] = {}
    messages: list[dict] = []

    def gated(request: Request) -> Response | None:
        if breakage.auth_bypass:
            return None
        if request.headers.get("authorization", "").removeprefix("Bearer ") != API_KEY:
            return JSONResponse({"error": "Unauthorized Access"}, status_code=401)
        return None

    async def ping(request: Request) -> Response:
        return PlainTextResponse("pong", media_type="text/html")

    async def version(request: Request) -> Response:
        if breakage.version_500:
            return _error(500, "Error: versionsService.getVersion - boom")
        return JSONResponse({"version": "3.1.4"})

    async def list_chatflows(request: Request) -> Response:
        return gated(request) or JSONResponse(list(reversed(chatflows.values())))

    async def create_chatflow(request: Request) -> Response:
        if refused := gated(request):
            return refused
        body = await request.json()
        if not isinstance(body, dict) or body.get("type") not in ("CHATFLOW", "AGENTFLOW"):
            return _error(400, "Invalid Chatflow Type")
        item = {
            "id": str(uuid.uuid4()),
            "name": body.get("name"),
            "flowData": body.get("flowData"),
            "type": body["type"],
            "deployed": body.get("deployed"),
            "createdDate": _now(),
            "updatedDate": _now(),
        }
        chatflows[item["id"]] = item
        return JSONResponse(item)

    async def one_chatflow(request: Request) -> Response:
        if refused := gated(request):
            return refused
        identifier = request.path_params["id"]
        item = chatflows.get(identifier)
        if item is None:
            if breakage.unknown_id_status != 404:
                return JSONResponse({}, status_code=breakage.unknown_id_status)
            return _error(404, f"Chatflow {identifier} not found in the database!")
        if request.method == "GET":
            return JSONResponse(item)
        if request.method == "PUT":
            body = await request.json()
            item.update({key: value for key, value in body.items() if key in ("name", "deployed", "flowData")})
            return JSONResponse(item)
        if not breakage.delete_keeps_resource:
            del chatflows[identifier]
        return JSONResponse({"raw": [], "affected": 1})

    async def streaming(request: Request) -> Response:
        if request.path_params["id"] not in chatflows:
            return _error(404, "Chatflow not found")
        return JSONResponse({"isStreaming": True})

    async def predict(request: Request) -> Response:
        identifier = request.path_params["id"]
        if identifier not in chatflows:
            return _error(404, f"Chatflow {identifier} not found in the database!")
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("question"), str):
            return _error(400, "Question is required")
        chat_id = body.get("chatId") or (body.get("overrideConfig") or {}).get("sessionId") or str(uuid.uuid4())
        text = f"Echo: {body['question']}"
        message_id = str(uuid.uuid4())
        for role, content in (("userMessage", body["question"]), ("apiMessage", text)):
            messages.append(
                {
                    "id": message_id if role == "apiMessage" else str(uuid.uuid4()),
                    "role": role,
                    "chatflowid": identifier,
                    "content": content,
                    "chatType": "EXTERNAL",
                    "chatId": chat_id,
                    "sessionId": chat_id,
                    "createdDate": _now(),
                }
            )
        if body.get("streaming") in (True, "true"):
            return StreamingResponse(_frames(text, chat_id, message_id, body["question"]), media_type="text/event-stream", headers=SSE_HEADERS)
        answer = {"text": text, "question": body["question"], "chatId": chat_id, "chatMessageId": message_id}
        if breakage.answer_without_message_id:
            del answer["chatMessageId"]
        answer.update(
            {
                "executionId": str(uuid.uuid4()),
                "agentFlowExecutedData": [],
                "sessionId": chat_id,
            }
        )
        return JSONResponse(answer)

    async def _frames(text: str, chat_id: str, message_id: str, question: str) -> AsyncIterator[bytes]:
        prefix = b"message:\ndata: " if breakage.sse_space_after_data else b"message:\ndata:"
        events = [
            {"event": "agentFlowEvent", "data": "INPROGRESS"},
            {"event": "token", "data": text},
            {"event": "agentFlowEvent", "data": "FINISHED"},
            {"event": "metadata", "data": {"chatId": chat_id, "chatMessageId": message_id, "question": question, "sessionId": chat_id}},
        ]
        if not breakage.sse_without_end:
            events.append({"event": "end", "data": "[DONE]"})
        for event in events:
            yield prefix + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
            await asyncio.sleep(0)

    async def chat_messages(request: Request) -> Response:
        if refused := gated(request):
            return refused
        identifier = request.path_params["id"]
        chat_id = request.query_params.get("chatId")
        found = [m for m in messages if m["chatflowid"] == identifier and (chat_id is None or m["chatId"] == chat_id)]
        return JSONResponse(found)

    async def fallback(request: Request) -> Response:
        return gated(request) or _error(404, "Not found")

    routes = [
        Route("/api/v1/ping", ping),
        Route("/api/v1/version", version),
        Route("/api/v1/chatflows", list_chatflows, methods=["GET"]),
        Route("/api/v1/chatflows", create_chatflow, methods=["POST"]),
        Route("/api/v1/chatflows/{id}", one_chatflow, methods=["GET", "PUT", "DELETE"]),
        Route("/api/v1/chatflows-streaming/{id}", streaming),
        Route("/api/v1/prediction/{id}", predict, methods=["POST"]),
        Route("/api/v1/chatmessage/{id}", chat_messages, methods=["GET"]),
        Route("/{path:path}", fallback, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    async def http_error(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        response = _error(status, str(getattr(exc, "detail", "error")))
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})

    async def recorded(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http" and log is not None:
            log.append((scope["method"], scope["path"]))
        await app(scope, receive, send)

    return recorded


def serving(breakage: Breakage = Breakage(), log: list[tuple[str, str]] | None = None) -> AbstractContextManager[str]:
    """Run the app on 127.0.0.1:<free port> in a thread; yields its base URL, stops it after."""
    return serve_in_thread(build_app(breakage, log))
