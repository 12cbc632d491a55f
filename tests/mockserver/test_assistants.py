"""Assistants over HTTP: CRUD with ``details`` as a JSON string, type filter, validation, auth, quirks."""

from __future__ import annotations

import json

import pytest

DETAILS = json.dumps({"name": "Helpdesk", "description": "IT", "model": "gpt-4o-mini", "instructions": "Help.",
                      "temperature": 0.7, "top_p": 1, "tools": [], "tool_resources": {}})
CREDENTIAL = "6a2f8d4c-9e1b-4c73-a5d0-e8b3f7c1a246"
ASSISTANT = {"details": DETAILS, "credential": CREDENTIAL, "type": "CUSTOM"}
MISSING = "00000000-0000-0000-0000-000000000000"


async def create(client, headers, **fields) -> dict:
    response = await client.post("/assistants", json={**ASSISTANT, **fields}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_lifecycle(client, admin_headers, expect_error) -> None:
    created = await create(client, admin_headers)
    assert created["details"] == DETAILS and isinstance(created["details"], str)
    assert list(created)[:4] == ["details", "credential", "type", "workspaceId"]
    assistant_id = created["id"]

    got = (await client.get(f"/assistants/{assistant_id}", headers=admin_headers)).json()
    assert got == created
    assert list(got) == ["id", "details", "credential", "iconSrc", "type", "workspaceId", "createdDate",
                         "updatedDate"]
    assert [a["id"] for a in (await client.get("/assistants", headers=admin_headers)).json()] == [assistant_id]

    new_details = json.dumps({**json.loads(DETAILS), "instructions": "Be brief."})
    response = await client.put(f"/assistants/{assistant_id}", json={"details": new_details}, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["details"] == new_details and response.json()["credential"] == CREDENTIAL
    assert response.json()["updatedDate"] > created["updatedDate"]
    assert (await client.get(f"/assistants/{assistant_id}", headers=admin_headers)).json() == response.json()

    response = await client.delete(f"/assistants/{assistant_id}", params={"isDeleteBoth": "false"},
                                   headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 1}
    expect_error(await client.get(f"/assistants/{assistant_id}", headers=admin_headers), 404,
                 f"Assistant {assistant_id} not found")
    expect_error(await client.delete(f"/assistants/{assistant_id}", headers=admin_headers), 404)


async def test_quirks_wrap_not_found_into_500(make_client, admin_headers, expect_error) -> None:
    client = make_client(quirks="flowise-3.1")
    expect_error(await client.get(f"/assistants/{MISSING}", headers=admin_headers), 500,
                 f"Error: assistantsService.getAssistantById - Assistant {MISSING} not found")
    expect_error(await client.delete(f"/assistants/{MISSING}", headers=admin_headers), 500,
                 f"Error: assistantsService.deleteAssistant - Assistant {MISSING} not found")


async def test_type_filter(client, admin_headers) -> None:
    custom = await create(client, admin_headers)
    openai = await create(client, admin_headers, type="OPENAI")
    by_type = (await client.get("/assistants", params={"type": "OPENAI"}, headers=admin_headers)).json()
    assert [a["id"] for a in by_type] == [openai["id"]]
    everything = (await client.get("/assistants", headers=admin_headers)).json()
    assert [a["id"] for a in everything] == [custom["id"], openai["id"]]


@pytest.mark.parametrize(("body", "field"), [
    ({"credential": CREDENTIAL, "type": "CUSTOM"}, "details"),
    ({**ASSISTANT, "details": "{not json"}, "details"),
    ({**ASSISTANT, "details": {"name": "object, not string"}}, "details"),
    ({**ASSISTANT, "type": "ANTHROPIC"}, "type"),
    ({**ASSISTANT, "credential": "not-a-uuid"}, "credential"),
])
async def test_bad_bodies_are_400_naming_the_field(client, admin_headers, expect_error, body, field) -> None:
    assert field in expect_error(await client.post("/assistants", json=body, headers=admin_headers), 400)


async def test_update_refuses_details_that_are_not_json(client, admin_headers, expect_error) -> None:
    created = await create(client, admin_headers)
    message = expect_error(await client.put(f"/assistants/{created['id']}", json={"details": "nope"},
                                            headers=admin_headers), 400)
    assert "details" in message


async def test_auth(client, key_headers) -> None:
    response = await client.get("/assistants")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    viewer = await key_headers("assistants:view")
    assert (await client.get("/assistants", headers=viewer)).status_code == 200
    response = await client.post("/assistants", json=ASSISTANT, headers=viewer)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
