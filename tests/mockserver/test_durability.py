"""Group commit: an answer that follows a write waits for an fsync of the WAL; concurrent writers share it."""

from __future__ import annotations

import asyncio
import contextvars
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mockserver_settings import ADMIN, asgi_client, mock_settings

from mockserver import create_app
from mockserver.spec import Spec
from mockserver.store.db import Database
from mockserver.store.durability import _WRITES, Durability, LostWriteError, RequestWrites


def _file_app(tmp_path: Path, spec: Spec) -> Any:
    return create_app(mock_settings(db=str(tmp_path / "mock.db")), spec=spec)


async def _call(app: Any, method: str, path: str, body: dict[str, Any] | None, events: list[str]) -> int:
    """One request straight to the ASGI app, noting when each message goes out."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = [(b"authorization", ADMIN["Authorization"].encode()), (b"content-type", b"application/json"),
               (b"content-length", str(len(data)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": "/api/v1" + path, "raw_path": b"", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "root_path": ""}
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            events.append("answer")

    await app(scope, receive, send)
    return status


async def _write_variables(app: Any, count: int, events: list[str]) -> list[int]:
    """``count`` concurrent requests, each creating a variable; their statuses."""
    return list(await asyncio.gather(*(
        _call(app, "POST", "/variables", {"name": f"v{n}", "value": "1", "type": "static"}, events)
        for n in range(count))))


def _recording(durability: Durability, events: list[str], delay: float = 0.0) -> None:
    real = durability.sync

    def sync() -> None:
        time.sleep(delay)
        real()
        events.append("fsync")

    durability.sync = sync  # type: ignore[method-assign]


async def test_an_answer_after_a_write_leaves_only_after_the_fsync(tmp_path: Path, spec: Spec) -> None:
    app = _file_app(tmp_path, spec)
    durability = app.state.mock.db.durability
    events: list[str] = []
    _recording(durability, events)
    assert await _call(app, "POST", "/variables", {"name": "v", "value": "1", "type": "static"}, events) == 200
    assert events == ["fsync", "answer"]
    assert durability.durable == durability.committed > 0 and durability.fsyncs == 1


async def test_a_read_does_not_wait_for_any_fsync(tmp_path: Path, spec: Spec) -> None:
    app = _file_app(tmp_path, spec)
    events: list[str] = []
    _recording(app.state.mock.db.durability, events)
    assert await _call(app, "GET", "/variables", None, events) == 200
    assert events == ["answer"]


async def test_concurrent_writers_share_fsyncs(tmp_path: Path, spec: Spec) -> None:
    app = _file_app(tmp_path, spec)
    durability = app.state.mock.db.durability
    events: list[str] = []
    _recording(durability, events, delay=0.05)  # a slow disk: writers pile up behind the first fsync
    assert await _write_variables(app, 30, events) == [200] * 30
    assert 1 <= events.count("fsync") <= 10, events  # 30 commits, a handful of fsyncs (1 on a quiet machine)
    assert durability.durable == durability.committed
    first_answer = events.index("answer")
    assert "fsync" in events[:first_answer]


async def test_streamed_prediction_chunks_wait_for_the_rows_they_follow(tmp_path: Path, spec: Spec) -> None:
    app = _file_app(tmp_path, spec)
    durability = app.state.mock.db.durability
    async with asgi_client(app) as client:
        flow = await client.post("/chatflows", headers=ADMIN, json={"name": "f", "flowData": "{}", "type": "CHATFLOW"})
        events: list[str] = []
        _recording(durability, events)
        answer = await client.post(f"/prediction/{flow.json()['id']}", headers=ADMIN,
                                   json={"question": "hi", "streaming": True})
    assert answer.status_code == 200
    assert durability.durable == durability.committed and "fsync" in events


async def test_an_in_memory_database_has_nothing_to_sync(spec: Spec) -> None:
    app = create_app(mock_settings(), spec=spec)
    durability = app.state.mock.db.durability
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t/api/v1") as client:
        assert (await client.post("/variables", headers=ADMIN, json={"name": "v", "value": "1", "type": "static"})).status_code == 200
    assert not durability.enabled and durability.fsyncs == 0


async def test_concurrent_writers_share_one_transaction(tmp_path: Path, spec: Spec) -> None:
    """The writes made while a round is under way are committed together by the next round: far fewer
    commits than requests, and every row is there after a reopen."""
    app = _file_app(tmp_path, spec)
    durability = app.state.mock.db.durability
    events: list[str] = []
    _recording(durability, events, delay=0.05)
    before = durability.committed
    assert await _write_variables(app, 30, events) == [200] * 30
    assert 1 <= durability.committed - before <= 10  # 30 writing requests, a handful of commits
    app.state.mock.db.close()
    reopened = create_app(mock_settings(db=str(tmp_path / "mock.db")), spec=spec)
    async with asgi_client(reopened) as client:
        names = {row["name"] for row in (await client.get("/variables", headers=ADMIN)).json()}
    assert {f"v{n}" for n in range(30)} <= names


async def test_with_several_processes_each_write_commits_alone(tmp_path: Path, spec: Spec) -> None:
    """--workers: no transaction is held open across requests (it would hold the file's write lock)."""
    app = create_app(mock_settings(db=str(tmp_path / "mock.db"), workers=2), spec=spec)
    durability = app.state.mock.db.durability
    events: list[str] = []
    _recording(durability, events, delay=0.05)
    before = durability.committed
    assert await _write_variables(app, 10, events) == [200] * 10
    assert durability.committed - before >= 10
    assert events.count("fsync") < 10  # the fsyncs are still shared


def test_a_failed_statement_leaves_the_shared_transaction_to_the_others(tmp_path: Path) -> None:
    """A write that breaks a constraint fails alone: the writes it shares a transaction with stay, and a
    read made while the transaction is open waits for its commit too."""
    db = Database(str(tmp_path / "mock.db"))
    writer, reader = RequestWrites(), RequestWrites()

    def as_request(writes: RequestWrites, work: Callable[[], Any]) -> Any:
        context = contextvars.copy_context()
        context.run(_WRITES.set, writes)
        return context.run(work)

    as_request(writer, lambda: db.execute("INSERT INTO mock_meta (key, value) VALUES ('kept', '1')"))
    with pytest.raises(sqlite3.IntegrityError):
        as_request(writer, lambda: db.execute("INSERT INTO mock_meta (key, value) VALUES ('kept', '2')"))
    as_request(reader, lambda: db.meta("kept"))
    assert writer.seq == reader.seq == db.durability.committed + 1  # both wait for the commit to come
    db.commit_shared()
    assert db.durability.committed == writer.seq
    db.close()
    assert Database(str(tmp_path / "mock.db")).meta("kept") == "1"


async def test_a_rolled_back_transaction_fails_its_waiters_and_only_them(tmp_path: Path) -> None:
    """SQLite may roll a whole shared transaction back (disk full, I/O): the requests in it are not told
    their writes are saved, and the next transaction's requests are."""
    durability = Durability(str(tmp_path / "mock.db"))
    lost = durability.committed + 1
    durability.lost(lost)
    with pytest.raises(LostWriteError):
        await durability.wait(lost)
    later = durability.committed_one()
    assert later != lost
    await durability.wait(later)
    assert durability.durable >= later
