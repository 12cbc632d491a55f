"""Variables over HTTP: create, list, update, delete (no get-by-id in Flowise), and Flowise#3221."""

from __future__ import annotations

import pytest

MISSING = "00000000-0000-0000-0000-000000000000"


async def create(client, headers, **fields) -> dict:
    response = await client.post("/variables", json={"name": "myvar", "value": "v1", "type": "static", **fields},
                                 headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def listed(client, headers) -> list[dict]:
    response = await client.get("/variables", headers=headers)
    assert response.status_code == 200
    return response.json()


async def test_lifecycle(client, admin_headers, expect_error) -> None:
    created = await create(client, admin_headers)
    assert list(created) == ["name", "value", "type", "workspaceId", "id", "createdDate", "updatedDate"]
    variable_id = created["id"]
    assert await listed(client, admin_headers) == [
        {key: created[key] for key in ("id", "name", "value", "type", "workspaceId", "createdDate", "updatedDate")}]

    response = await client.put(f"/variables/{variable_id}", json={"value": "v2"}, headers=admin_headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["value"] == "v2" and updated["name"] == "myvar" and updated["type"] == "static"
    assert updated["updatedDate"] > created["updatedDate"]
    assert await listed(client, admin_headers) == [updated]

    response = await client.delete(f"/variables/{variable_id}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 1}
    assert await listed(client, admin_headers) == []
    expect_error(await client.put(f"/variables/{variable_id}", json={"value": "x"}, headers=admin_headers), 404,
                 "Variable not found in the database")
    expect_error(await client.delete(f"/variables/{variable_id}", headers=admin_headers), 404)


async def test_delete_missing_answers_200_under_quirks(make_client, admin_headers) -> None:
    client = make_client(quirks="flowise-3.1")
    response = await client.delete(f"/variables/{MISSING}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 0}


async def test_type_defaults_to_string_and_runtime_is_kept(client, admin_headers) -> None:
    response = await client.post("/variables", json={"name": "bare"}, headers=admin_headers)
    assert response.status_code == 200 and response.json()["type"] == "string"
    assert response.json()["value"] is None
    runtime = await create(client, admin_headers, name="OPENAI_BASE_URL", value="", type="runtime")
    assert runtime["type"] == "runtime"


async def test_pagination(client, admin_headers) -> None:
    for i in range(3):
        await create(client, admin_headers, name=f"v{i}")
    page = (await client.get("/variables", params={"page": 2, "limit": 2}, headers=admin_headers)).json()
    assert page["total"] == 3 and [v["name"] for v in page["data"]] == ["v0"]


@pytest.mark.parametrize(("body", "field"), [
    ({"value": "x"}, "name"),
    ({"name": "x", "value": 3}, "value"),
    ({"name": ["x"]}, "name"),
])
async def test_bad_bodies_are_400_naming_the_field(client, admin_headers, expect_error, body, field) -> None:
    assert field in expect_error(await client.post("/variables", json=body, headers=admin_headers), 400)


async def test_auth(client, key_headers) -> None:
    response = await client.get("/variables")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    viewer = await key_headers("variables:view")
    assert (await client.get("/variables", headers=viewer)).status_code == 200
    response = await client.post("/variables", json={"name": "x"}, headers=viewer)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
