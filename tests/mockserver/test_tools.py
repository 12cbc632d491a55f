"""Custom tools over HTTP: CRUD, pagination, validation, auth and the real server's wrapped 500s."""

from __future__ import annotations

import pytest

TOOL = {"name": "get_time", "description": "Returns the current time", "color": "linear-gradient(red, blue)",
        "schema": '[{"id":0,"property":"tz","type":"string","required":false}]',
        "func": "return new Date().toISOString()"}
MISSING = "00000000-0000-0000-0000-000000000000"


async def create(client, headers, **fields) -> dict:
    response = await client.post("/tools", json={**TOOL, **fields}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_lifecycle(client, admin_headers, expect_error) -> None:
    created = await create(client, admin_headers)
    assert list(created) == [*TOOL, "workspaceId", "id", "createdDate", "updatedDate", "iconSrc"]
    assert created["iconSrc"] is None and created["schema"] == TOOL["schema"]
    tool_id = created["id"]

    got = (await client.get(f"/tools/{tool_id}", headers=admin_headers)).json()
    assert got == created
    assert list(got) == ["id", "name", "description", "color", "iconSrc", "schema", "func", "workspaceId",
                         "createdDate", "updatedDate"]
    assert [t["id"] for t in (await client.get("/tools", headers=admin_headers)).json()] == [tool_id]

    response = await client.put(f"/tools/{tool_id}", json={"description": "ISO time", "iconSrc": "/clock.svg"},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["description"] == "ISO time" and updated["iconSrc"] == "/clock.svg"
    assert updated["name"] == TOOL["name"] and updated["updatedDate"] > created["updatedDate"]
    assert (await client.get(f"/tools/{tool_id}", headers=admin_headers)).json() == updated

    response = await client.delete(f"/tools/{tool_id}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 1}
    expect_error(await client.get(f"/tools/{tool_id}", headers=admin_headers), 404, f"Tool {tool_id} not found")
    expect_error(await client.put(f"/tools/{tool_id}", json={"name": "x"}, headers=admin_headers), 404)
    expect_error(await client.delete(f"/tools/{tool_id}", headers=admin_headers), 404)


async def test_quirks_wrap_not_found_into_500(make_client, admin_headers, expect_error) -> None:
    client = make_client(quirks="flowise-3.1")
    expect_error(await client.get(f"/tools/{MISSING}", headers=admin_headers), 500,
                 f"Error: toolsService.getToolById - Tool {MISSING} not found")
    expect_error(await client.put(f"/tools/{MISSING}", json={"name": "x"}, headers=admin_headers), 500,
                 f"Error: toolsService.updateTool - Tool {MISSING} not found")
    gone = await client.delete(f"/tools/{MISSING}", headers=admin_headers)  # seen on a real 3.1.4
    assert gone.status_code == 200 and gone.json() == {"raw": [], "affected": 0}


async def test_list_newest_first_and_paginated(client, admin_headers) -> None:
    for name in ("a", "b", "c"):
        await create(client, admin_headers, name=name)
    listed = (await client.get("/tools", headers=admin_headers)).json()
    assert [t["name"] for t in listed] == ["c", "b", "a"]
    page = (await client.get("/tools", params={"page": 1, "limit": 2}, headers=admin_headers)).json()
    assert page["total"] == 3 and [t["name"] for t in page["data"]] == ["c", "b"]
    only_page = (await client.get("/tools", params={"page": 1}, headers=admin_headers)).json()
    assert isinstance(only_page, list) and len(only_page) == 3


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "color": "c"}, "description"),
    ({**TOOL, "name": 1}, "name"),
    ({**TOOL, "schema": [{"property": "tz"}]}, "schema"),
])
async def test_bad_bodies_are_400_naming_the_field(client, admin_headers, expect_error, body, field) -> None:
    assert field in expect_error(await client.post("/tools", json=body, headers=admin_headers), 400)


async def test_bad_query_and_id_are_400(client, admin_headers, expect_error) -> None:
    assert "page" in expect_error(await client.get("/tools", params={"page": 0, "limit": 1},
                                                   headers=admin_headers), 400)
    expect_error(await client.get("/tools/nope", headers=admin_headers), 400)


async def test_auth(client, key_headers) -> None:
    response = await client.post("/tools", json=TOOL)
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    viewer = await key_headers("tools:view")
    assert (await client.get("/tools", headers=viewer)).status_code == 200
    response = await client.post("/tools", json=TOOL, headers=viewer)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    creator = await key_headers("tools:create")
    tool = (await client.post("/tools", json=TOOL, headers=creator)).json()
    assert (await client.put(f"/tools/{tool['id']}", json={"name": "y"}, headers=creator)).status_code == 200
    assert (await client.delete(f"/tools/{tool['id']}", headers=creator)).status_code == 403
