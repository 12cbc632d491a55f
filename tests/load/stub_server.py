"""A small Flowise stand-in for testing `flowise-load` and for the bare-endpoint benchmark baseline.

The load tool must be testable before (and independently of) the real mock: this app speaks just enough
of Flowise's wire format (see docs/streaming.md#frame-format) to drive every load profile. Streaming
frames are byte-for-byte Flowise's `message:\\ndata:{...}\\n\\n`, with a configurable time to first
token and inter-token latency so the harness can be calibrated against known values.

It also serves `GET /bare/json`, a plain Starlette JSON endpoint with no state behind it: the
baseline the benchmarks compare the mock against; and `POST /bare/stored`, a bare Starlette POST that
stores the question and its answer exactly as the mock stores a prediction's messages (its SQLite schema
and insert, in memory): the ceiling of any prediction that keeps Flowise's chat messages in SQLite.

Run: `python tests/load/stub_server.py --port 8123 --ttft-ms 100 --itl-ms 20 --answer-tokens 16`.
Faults for tests ride on the `X-Stub-Fault` request header: `error`, `abort`, `empty`, `slow-start`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from mockserver.store.chatmessages import add_messages
from mockserver.store.db import Database, new_id

SSE_HEADERS = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}


@dataclass
class StubTiming:
    ttft_ms: float = 50.0
    itl_ms: float = 10.0
    answer_tokens: int = 8
    api_key: str | None = None


def frame(event: str, data: Any) -> bytes:
    payload = json.dumps({"event": event, "data": data}, separators=(",", ":"))
    return f"message:\ndata:{payload}\n\n".encode()


def flowise_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": status, "success": False, "message": message, "stack": {}}, status)


def create_app(timing: StubTiming) -> Starlette:
    chatflows: dict[str, dict[str, Any]] = {}
    messages: dict[str, list[dict[str, Any]]] = {}

    def authorised(request: Request) -> bool:
        if timing.api_key is None:
            return True
        header = request.headers.get("authorization", "")
        return header.removeprefix("Bearer ").strip() == timing.api_key

    def unauthorised() -> JSONResponse:
        return JSONResponse({"error": "Unauthorized Access"}, 401)

    async def ping(request: Request) -> Response:
        return PlainTextResponse("pong", media_type="text/html")

    async def bare_json(request: Request) -> Response:
        return JSONResponse({"id": "bare", "name": "bare", "flowData": "{}", "deployed": False})

    store = Database(":memory:")

    async def bare_stored(request: Request) -> Response:
        body = await request.json()
        chat_id = new_id()
        common = {"chatflowid": "bare", "chatId": chat_id, "sessionId": chat_id}
        _, answer = add_messages(store, {"role": "userMessage", "content": str(body.get("question", "")), **common},
                                 {"role": "apiMessage", "content": "bare", **common})
        return JSONResponse({"text": "bare", "chatId": chat_id, "chatMessageId": answer["id"], "sessionId": chat_id})

    async def list_chatflows(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        return JSONResponse(list(reversed(chatflows.values())))

    async def create_chatflow(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        body = await request.json()
        if not isinstance(body, dict) or not body.get("name"):
            return flowise_error(400, "name is required")
        flow = {"id": str(uuid.uuid4()), "name": body["name"], "flowData": body.get("flowData", "{}"),
                "type": body.get("type", "CHATFLOW"), "deployed": False}
        chatflows[flow["id"]] = flow
        return JSONResponse(flow)

    async def chatflow_item(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        flow_id = request.path_params["id"]
        if flow_id not in chatflows:
            return flowise_error(404, f"Chatflow {flow_id} not found")
        if request.method == "DELETE":
            del chatflows[flow_id]
            messages.pop(flow_id, None)
            return JSONResponse({"raw": [], "affected": 1})
        return JSONResponse(chatflows[flow_id])

    async def chat_messages(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        return JSONResponse(messages.get(request.path_params["id"], []))

    async def vector_upsert(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        if request.path_params["id"] not in chatflows:
            return flowise_error(404, "Chatflow not found")
        await request.body()
        return JSONResponse({"numAdded": 1, "numDeleted": 0, "numUpdated": 0, "numSkipped": 0, "totalKeys": 1})

    async def prediction(request: Request) -> Response:
        flow_id = request.path_params["id"]
        if flow_id not in chatflows:
            return flowise_error(404, f"Chatflow {flow_id} not found")
        body = await request.json()
        question = str(body.get("question", ""))
        chat_id = body.get("chatId") or str(uuid.uuid4())
        fault = request.headers.get("x-stub-fault", "")
        words = [f"w{i} " for i in range(timing.answer_tokens)]
        messages.setdefault(flow_id, []).append({"role": "userMessage", "content": question, "chatId": chat_id})
        if body.get("streaming") in (True, "true"):
            return StreamingResponse(stream(words, question, chat_id, fault), media_type="text/event-stream",
                                     headers=SSE_HEADERS)
        await asyncio.sleep((timing.ttft_ms + timing.itl_ms * max(len(words) - 1, 0)) / 1000)
        return JSONResponse({"text": "".join(words), "question": question, "chatId": chat_id,
                             "chatMessageId": str(uuid.uuid4()), "isStreamValid": False, "sessionId": chat_id,
                             "sourceDocuments": [{"pageContent": "stub", "metadata": {}}]})

    async def stream(words: list[str], question: str, chat_id: str, fault: str):
        yield frame("start", "")
        start = time.perf_counter()
        await asyncio.sleep(timing.ttft_ms / 1000)
        if fault == "error":
            yield frame("error", "Error: stub failure")
            yield frame("end", "[DONE]")
            return
        sent = 0 if fault == "empty" else len(words)
        for index in range(sent):
            if index:
                # Sleep to an absolute schedule so event-loop lag does not accumulate across tokens.
                target = start + (timing.ttft_ms + timing.itl_ms * index) / 1000
                await asyncio.sleep(max(0.0, target - time.perf_counter()))
            yield frame("token", words[index])
            if fault == "abort" and index == 1:
                raise ConnectionAbortedError("stub abort")
        yield b":heartbeat\n\n"
        yield frame("metadata", {"chatId": chat_id, "chatMessageId": str(uuid.uuid4()), "question": question,
                                 "sessionId": chat_id, "memoryType": None})
        yield frame("end", "[DONE]")

    routes = [
        Route("/api/v1/ping", ping),
        Route("/bare/json", bare_json),
        Route("/bare/stored", bare_stored, methods=["POST"]),
        Route("/api/v1/chatflows", list_chatflows, methods=["GET"]),
        Route("/api/v1/chatflows", create_chatflow, methods=["POST"]),
        Route("/api/v1/chatflows/{id}", chatflow_item, methods=["GET", "DELETE"]),
        Route("/api/v1/chatmessage/{id}", chat_messages),
        Route("/api/v1/vector/upsert/{id}", vector_upsert, methods=["POST"]),
        Route("/api/v1/prediction/{id}", prediction, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.store = store
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--answer-tokens", type=int, default=8)
    parser.add_argument("--api-key", default=None)
    # flowise-mock's other flags, accepted so the same command line starts either server.
    parser.add_argument("--db")
    parser.add_argument("--no-auth", action="store_true")
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--itl-dist")
    parser.add_argument("--tokens-per-chunk", type=int)
    parser.add_argument("--max-concurrent", type=int)
    args = parser.parse_args(argv)
    timing = StubTiming(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms, answer_tokens=args.answer_tokens,
                        api_key=args.api_key)
    uvicorn.run(create_app(timing), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
