"""``/chatmessage/{id}``: listing filters, feedback and execution joins, filtered deletes, abort."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

ADMIN = {"Authorization": "Bearer test-admin-key"}
MEMORY_FLOW = {"nodes": [{"id": "bufferMemory_0", "data": {"id": "bufferMemory_0", "name": "bufferMemory",
                                                            "label": "Buffer Memory", "category": "Memory",
                                                            "inputs": {}}}], "edges": []}


@pytest.fixture
async def seeded(make_client: Callable[..., httpx.AsyncClient]) -> tuple[httpx.AsyncClient, str, list[dict]]:
    client = make_client(fast=True)
    created = await client.post("/chatflows", json={"name": "m", "flowData": json.dumps(MEMORY_FLOW),
                                                    "type": "CHATFLOW"}, headers=ADMIN)
    flow_id = created.json()["id"]
    answers = []
    for chat, question in (("a", "one"), ("a", "two"), ("b", "three")):
        response = await client.post(f"/prediction/{flow_id}", json={"question": question, "chatId": chat})
        answers.append(response.json())
    return client, flow_id, answers


async def listing(client: httpx.AsyncClient, flow_id: str, **query: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/chatmessage/{flow_id}", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_list_shape_and_order(seeded: tuple[httpx.AsyncClient, str, list[dict]]) -> None:
    client, flow_id, answers = seeded
    rows = await listing(client, flow_id)
    assert [r["content"] for r in rows[::2]] == ["one", "two", "three"]
    assert list(rows[0]) == ["id", "role", "chatflowid", "executionId", "content", "sourceDocuments", "usedTools",
                             "fileAnnotations", "agentReasoning", "reasonContent", "fileUploads", "artifacts",
                             "action", "chatType", "chatId", "memoryType", "sessionId", "createdDate", "leadEmail",
                             "followUpPrompts", "execution"]
    newest_first = await listing(client, flow_id, order="DESC")
    assert newest_first[0]["id"] == answers[-1]["chatMessageId"]
    assert len(await listing(client, flow_id, chatId="a")) == 4
    assert len(await listing(client, flow_id, sessionId="b")) == 2
    assert len(await listing(client, flow_id, chatType='["EXTERNAL"]')) == 6
    assert await listing(client, flow_id, chatType="INTERNAL") == []
    assert len(await listing(client, flow_id, memoryType="Buffer Memory")) == 6
    only = await listing(client, flow_id, messageId=answers[0]["chatMessageId"])
    assert [r["id"] for r in only] == [answers[0]["chatMessageId"]]
    assert len(await listing(client, flow_id, page=2, limit=4)) == 2
    today = rows[0]["createdDate"][:10] + "T12:00:00.000Z"  # whole days count, as in Flowise
    assert len(await listing(client, flow_id, startDate=today, endDate=today)) == 6
    assert await listing(client, flow_id, startDate="2999-01-01T00:00:00.000Z") == []


async def test_feedback_join_and_feedback_type_filter(seeded: tuple[httpx.AsyncClient, str, list[dict]]) -> None:
    client, flow_id, answers = seeded
    rated = answers[1]
    response = await client.post(f"/feedback/{flow_id}", json={"chatflowid": flow_id, "chatId": rated["chatId"],
                                                               "messageId": rated["chatMessageId"],
                                                               "rating": "THUMBS_UP"})
    assert response.status_code == 200, response.text
    rows = await listing(client, flow_id, feedback="true")
    by_id = {r["id"]: r for r in rows}
    assert by_id[rated["chatMessageId"]]["feedback"]["rating"] == "THUMBS_UP"
    assert by_id[answers[0]["chatMessageId"]]["feedback"] is None
    kept = await listing(client, flow_id, feedbackType="THUMBS_UP")
    assert [r["content"] for r in kept] == ["two", rated["text"]]
    assert await listing(client, flow_id, feedbackType="THUMBS_DOWN") == []


async def test_delete_with_filters_removes_feedback_too(seeded: tuple[httpx.AsyncClient, str, list[dict]],
                                                       expect_error: Callable[..., str]) -> None:
    client, flow_id, answers = seeded
    await client.post(f"/feedback/{flow_id}", json={"chatflowid": flow_id, "chatId": "a",
                                                    "messageId": answers[0]["chatMessageId"], "rating": "THUMBS_DOWN"})
    deleted = await client.delete(f"/chatmessage/{flow_id}", params={"chatId": "a"}, headers=ADMIN)
    assert deleted.json() == {"raw": [], "affected": 4}
    assert [r["chatId"] for r in await listing(client, flow_id)] == ["b", "b"]
    feedback = await client.get(f"/feedback/{flow_id}", headers=ADMIN)
    assert feedback.json() == []
    assert (await client.delete(f"/chatmessage/{flow_id}", headers=ADMIN)).json() == {"raw": [], "affected": 2}
    missing = "00000000-0000-0000-0000-000000000000"
    expect_error(await client.get(f"/chatmessage/{missing}", headers=ADMIN), 404)
    expect_error(await client.get(f"/chatmessage/{flow_id}", params={"order": "SIDEWAYS"}, headers=ADMIN), 400)


async def test_abort_answers_even_when_nothing_runs(seeded: tuple[httpx.AsyncClient, str, list[dict]]) -> None:
    client, flow_id, _ = seeded
    response = await client.put(f"/chatmessage/abort/{flow_id}/nothing-running")
    assert response.status_code == 200 and response.json() == {"status": 200, "message": "Chat message aborted"}
