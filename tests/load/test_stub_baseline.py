"""The stub's baselines for the capacity benchmark: ``/bare/stored`` must really store what the mock stores,
or the "ceiling of a stored prediction" row it prints would measure nothing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import httpx

STUB = Path(__file__).resolve().with_name("stub_server.py")


def _stub_app():
    spec = importlib.util.spec_from_file_location("stub_server", STUB)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module.create_app(module.StubTiming())


async def test_bare_stored_writes_the_question_and_the_answer_as_the_mock_does() -> None:
    app = _stub_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stub") as client:
        first = (await client.post("/bare/stored", json={"question": "What is Flowise?"})).json()
        second = (await client.post("/bare/stored", json={"question": "And then?"})).json()
    rows = app.state.store.query('SELECT id, role, content, chatId, sessionId, seq FROM "chat_message" ORDER BY seq')
    assert [(r["role"], r["content"]) for r in rows] == [
        ("userMessage", "What is Flowise?"), ("apiMessage", "bare"), ("userMessage", "And then?"), ("apiMessage", "bare")]
    assert [r["chatId"] for r in rows] == [first["chatId"]] * 2 + [second["chatId"]] * 2
    assert rows[1]["id"] == first["chatMessageId"] and rows[3]["id"] == second["chatMessageId"]
    assert first["chatId"] != second["chatId"]
