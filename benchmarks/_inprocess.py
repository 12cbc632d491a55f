"""N requests handed straight to an ASGI app in this process: what callgrind counts instructions over.

No socket, no uvicorn, no HTTP client: each request is one ``await app(scope, receive, send)``, so the
instructions counted are the application's (framework, mock, SQLite) and the same on every machine.
A run first builds the app and sends a fixed warm-up (the lazy work of a first request: imports,
caches); then ``--requests`` requests of one kind. ``benchmarks.throughput`` runs it under
``valgrind --tool=callgrind`` with ``--requests 0`` and with N and divides the difference by N, so
start-up and warm-up cancel out.

    python -m benchmarks._inprocess {bare,floor,mock-get,mock-prediction} --requests 300 [--db PATH]

Prints one JSON line: kind, requests, statuses seen (every one must be 200).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STUB_PATH = ROOT / "tests" / "load" / "stub_server.py"
API_KEY = "sk-bench-throughput-0123456789"
QUESTION = json.dumps({"question": "What is Flowise?"})
WARMUP = 20
KINDS = ("bare", "floor", "mock-get", "mock-prediction")


async def call(app: Any, method: str, path: str, *, body: bytes = b"", key: str | None = None) -> int:
    """One request as uvicorn would hand it over; returns the response status."""
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if key:
        headers.append((b"authorization", f"Bearer {key}".encode()))
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": headers, "client": ("127.0.0.1", 40000),
             "server": ("127.0.0.1", 3000), "state": {}}
    done = asyncio.Event()
    delivered = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # the client keeps the connection until the response is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    await app(scope, receive, send)
    done.set()
    return status


def bare_app() -> Any:
    """The stub's app, whose ``GET /bare/json`` is the bare Starlette baseline of every benchmark."""
    spec = importlib.util.spec_from_file_location("bench_stub_server", STUB_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.create_app(module.StubTiming(ttft_ms=0, itl_ms=0, answer_tokens=16))


async def run(kind: str, requests: int, db: str) -> Counter[int]:
    statuses: Counter[int] = Counter()
    if kind == "bare":
        app = bare_app()
        for _ in range(WARMUP):
            statuses[await call(app, "GET", "/bare/json")] += 1
        for _ in range(requests):
            statuses[await call(app, "GET", "/bare/json")] += 1
        return statuses
    if kind == "floor":
        from benchmarks._floor import ROW_ID
        from benchmarks._floor import create_app as create_floor

        floor = create_floor()
        for _ in range(WARMUP + requests):
            statuses[await call(floor, "GET", f"/rows/{ROW_ID}")] += 1
        return statuses
    from mockserver.app import create_app
    from mockserver.settings import MockSettings

    app = create_app(MockSettings(db=db, fast=True, api_key=API_KEY, log_requests=False))
    flow = await create_chatflow(app)
    chatflow = f"/api/v1/chatflows/{flow}"
    prediction = f"/api/v1/prediction/{flow}"
    # The same warm-up for both kinds, so one zero-request run is the baseline of either.
    for _ in range(WARMUP):
        statuses[await call(app, "GET", chatflow, key=API_KEY)] += 1
        statuses[await call(app, "POST", prediction, body=QUESTION.encode())] += 1
    for _ in range(requests):
        if kind == "mock-get":
            statuses[await call(app, "GET", chatflow, key=API_KEY)] += 1
        else:
            statuses[await call(app, "POST", prediction, body=QUESTION.encode())] += 1
    app.state.mock.db.close()
    return statuses


async def create_chatflow(app: Any) -> str:
    captured: list[bytes] = []
    body = json.dumps({"name": "bench-inprocess", "type": "CHATFLOW",
                       "flowData": json.dumps({"nodes": [], "edges": []})}).encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            captured.append(message.get("body", b""))

    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode()), (b"authorization", f"Bearer {API_KEY}".encode())]
    await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
               "scheme": "http", "path": "/api/v1/chatflows", "raw_path": b"/api/v1/chatflows", "root_path": "",
               "query_string": b"", "headers": headers, "client": ("127.0.0.1", 40000),
               "server": ("127.0.0.1", 3000), "state": {}}, receive, send)
    answer = json.loads(b"".join(captured))
    if not isinstance(answer, dict) or "id" not in answer:
        raise RuntimeError(f"the mock did not create the chatflow: {answer}")
    return str(answer["id"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--db", default=":memory:", help="the mock's database (a file path, or :memory:)")
    args = parser.parse_args(argv)
    statuses = asyncio.run(run(args.kind, args.requests, args.db))
    print(json.dumps({"kind": args.kind, "requests": args.requests,
                      "statuses": {str(code): count for code, count in sorted(statuses.items())}}))
    return 0 if set(statuses) == {200} else 1


if __name__ == "__main__":
    raise SystemExit(main())
