"""Leads over HTTP: public create, listing per chatflow, and the real server's unusable GET under quirks."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

FLOW = "7d6f1b9e-3c2a-4e8b-9a41-5f0c2d8e1a37"
LEAD = {"chatflowid": FLOW, "chatId": "sess-A", "name": "Ada Lovelace", "email": "ada@example.com",
        "phone": "+441234567890"}


async def test_create_is_public_and_keeps_only_lead_columns(client: httpx.AsyncClient) -> None:
    response = await client.post("/leads", json={**LEAD, "company": "Analytical Engines"})
    assert response.status_code == 200, response.text
    lead = response.json()
    assert list(lead) == ["name", "email", "phone", "chatflowid", "chatId", "id", "createdDate"]
    assert {k: lead[k] for k in LEAD} == LEAD
    uuid.UUID(lead["id"])


async def test_chat_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    lead = (await client.post("/leads", json={"chatflowid": FLOW, "email": "x@example.com"})).json()
    uuid.UUID(lead["chatId"])
    assert lead["name"] is None and lead["phone"] is None


async def test_create_errors_name_the_field(client: httpx.AsyncClient, expect_error: Any) -> None:
    assert "chatflowid" in expect_error(await client.post("/leads", json={"name": "x"}), 400)
    assert "chatflowid" in expect_error(await client.post("/leads", json={"chatflowid": "nope"}), 400)
    assert "email" in expect_error(await client.post("/leads", json={"chatflowid": FLOW, "email": 7}), 400)


async def test_list_oldest_first_with_a_key(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    first = (await client.post("/leads", json=LEAD)).json()
    second = (await client.post("/leads", json={**LEAD, "chatId": "sess-B"})).json()
    await client.post("/leads", json={**LEAD, "chatflowid": str(uuid.uuid4())})
    response = await client.get(f"/leads/{FLOW}", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert [lead["id"] for lead in response.json()] == [first["id"], second["id"]]
    assert response.json()[0] == first
    assert (await client.get(f"/leads/{uuid.uuid4()}", headers=admin_headers)).json() == []
    anonymous = await client.get(f"/leads/{FLOW}")
    assert anonymous.status_code == 401 and anonymous.json() == {"error": "Unauthorized Access"}


async def test_quirks_reproduce_the_workspace_404(make_client: Any, admin_headers: dict[str, str],
                                                  expect_error: Any) -> None:
    quirky = make_client(quirks="flowise-3.1")
    expect_error(await quirky.get(f"/leads/{FLOW}", headers=admin_headers), 404,
                 "Error: leadsController.getAllLeadsForChatflow - workspace undefined not found!")
