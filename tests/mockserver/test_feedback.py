"""Chat message feedback over HTTP: public create (validated against the message), list, update."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

FLOW = "7d6f1b9e-3c2a-4e8b-9a41-5f0c2d8e1a37"
OTHER_FLOW = "2b9c4e71-8a0d-4f3e-b6c5-19e7d3a0f842"
MESSAGES = [str(uuid.uuid4()) for _ in range(3)]
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
async def seeded_default(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await seeded(client, admin_headers)


async def seeded(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    """A chatflow with three answers: two in chat ``sess-A``, one in ``sess-B`` (loaded through /__mock/seed)."""
    messages = [{"id": m, "role": "apiMessage", "chatflowid": FLOW, "content": f"answer {i}",
                 "chatId": "sess-A" if i < 2 else "sess-B"} for i, m in enumerate(MESSAGES)]
    response = await client.post("http://testserver/__mock/seed", headers=admin_headers,
                                  json={"chatflows": [{"id": FLOW, "name": "Support bot"}], "chat_messages": messages})
    assert response.status_code == 200, response.text


async def rate(client: httpx.AsyncClient, message: str, *, path: str = "/feedback", **fields: Any) -> httpx.Response:
    return await client.post(path, json={"messageId": message, **fields})


async def test_create_is_public_and_answers_the_saved_row(client: httpx.AsyncClient) -> None:
    response = await rate(client, MESSAGES[0], chatflowid=FLOW, chatId="sess-A", rating="THUMBS_UP", content="Nice")
    assert response.status_code == 200, response.text
    row = response.json()
    assert list(row) == ["chatflowid", "chatId", "messageId", "rating", "content", "id", "createdDate"]
    assert (row["chatflowid"], row["chatId"], row["messageId"]) == (FLOW, "sess-A", MESSAGES[0])
    assert row["rating"] == "THUMBS_UP" and row["content"] == "Nice"


async def test_chatflow_route_fills_ids_from_the_message(client: httpx.AsyncClient) -> None:
    response = await rate(client, MESSAGES[2], path=f"/feedback/{FLOW}", rating="THUMBS_DOWN")
    assert response.status_code == 200, response.text
    row = response.json()
    assert row["chatflowid"] == FLOW and row["chatId"] == "sess-B" and row["content"] is None


async def test_create_errors(client: httpx.AsyncClient, expect_error: Any) -> None:
    assert "messageId" in expect_error(await client.post("/feedback", json={"rating": "THUMBS_UP"}), 400)
    expect_error(await rate(client, MISSING), 404, f"Message with ID {MISSING} not found")
    expect_error(await rate(client, MESSAGES[0], chatId="wrong-chat"), 400,
                 f"Inconsistent chat ID: message with ID {MESSAGES[0]} does not belong to chat with ID wrong-chat")
    expect_error(await rate(client, MESSAGES[0], chatflowid=OTHER_FLOW), 400,
                 f"Inconsistent chatflow ID: message with ID {MESSAGES[0]} does not belong to chatflow with ID "
                 f"{OTHER_FLOW}")
    assert "rating" in expect_error(await rate(client, MESSAGES[0], rating="MEH"), 400)
    expect_error(await client.post("/feedback", content=b"{bad", headers={"content-type": "application/json"}), 400)


async def test_one_feedback_per_message(client: httpx.AsyncClient, make_client: Any, admin_headers: dict[str, str],
                                       expect_error: Any) -> None:
    assert (await rate(client, MESSAGES[0], rating="THUMBS_UP")).status_code == 200
    expect_error(await rate(client, MESSAGES[0], rating="THUMBS_DOWN"), 409,
                 f"Feedback for message {MESSAGES[0]} already exists")
    quirky = make_client(quirks="flowise-3.1")
    await seeded(quirky, admin_headers)
    assert (await rate(quirky, MESSAGES[0], rating="THUMBS_UP")).status_code == 200
    # Flowise on SQLite (duplicate-feedback-accepted): no unique key, the second feedback is saved too
    second = await rate(quirky, MESSAGES[0], rating="THUMBS_DOWN")
    assert second.status_code == 200 and second.json()["rating"] == "THUMBS_DOWN", second.text


async def test_list_filters_and_orders(client: httpx.AsyncClient, app: Any) -> None:
    ids = [(await rate(client, m, rating="THUMBS_UP")).json()["id"] for m in MESSAGES]
    for feedback_id, date in zip(ids, ("2026-01-01T10:00:00.000Z", "2026-01-02T10:00:00.000Z",
                                       "2026-01-03T10:00:00.000Z"), strict=True):
        app.state.mock.db.update("chat_message_feedback", feedback_id, {"createdDate": date})
    listed = await client.get(f"/feedback/{FLOW}")
    assert listed.status_code == 200 and [f["id"] for f in listed.json()] == ids
    newest = await client.get(f"/feedback/{FLOW}", params={"order": "DESC"})
    assert [f["id"] for f in newest.json()] == ids[::-1]
    ignored = await client.get(f"/feedback/{FLOW}", params={"sortOrder": "DESC"})
    assert [f["id"] for f in ignored.json()] == ids  # Flowise reads `order` only
    chat = await client.get(f"/feedback/{FLOW}", params={"chatId": "sess-A"})
    assert [f["id"] for f in chat.json()] == ids[:2]
    window = await client.get(f"/feedback/{FLOW}", params={"startDate": "2026-01-02T00:00:00Z",
                                                           "endDate": "2026-01-02T23:59:59Z"})
    assert [f["id"] for f in window.json()] == ids[1:2]
    assert (await client.get(f"/feedback/{MISSING}")).json() == []


async def test_update(client: httpx.AsyncClient, make_client: Any, expect_error: Any) -> None:
    created = (await rate(client, MESSAGES[1], rating="THUMBS_UP")).json()
    response = await client.put(f"/feedback/{created['id']}", json={"rating": "THUMBS_DOWN", "content": "Outdated"})
    assert response.status_code == 200 and response.json() == {"status": "OK"}
    row = (await client.get(f"/feedback/{FLOW}")).json()[0]
    assert row["rating"] == "THUMBS_DOWN" and row["content"] == "Outdated" and row["messageId"] == MESSAGES[1]
    expect_error(await client.put(f"/feedback/{MISSING}", json={"content": "x"}), 404,
                 f"Feedback with ID {MISSING} not found")
    expect_error(await client.put(f"/feedback/{created['id']}", json={"rating": "MEH"}), 400)
    # The real server answers this 404 too (the check runs in the controller), so quirks keep it.
    quirky = make_client(quirks="flowise-3.1")
    expect_error(await quirky.put(f"/feedback/{MISSING}", json={"content": "x"}), 404)
