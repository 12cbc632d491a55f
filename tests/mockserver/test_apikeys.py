"""API keys over HTTP: the plain key shown once, hashed storage, permissions, binding, verify, quirks."""

from __future__ import annotations

import pytest

MISSING = "00000000-0000-0000-0000-000000000000"
LIST_KEYS = ["id", "apiKey", "apiSecret", "keyName", "permissions", "updatedDate", "workspaceId", "chatFlows"]


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def key_id(client, headers, name: str) -> str:
    return next(k["id"] for k in (await client.get("/apikey", headers=headers)).json() if k["keyName"] == name)


async def test_create_shows_the_plain_key_once(client, app, admin_headers) -> None:
    response = await client.post("/apikey", json={"keyName": "ci", "permissions": ["chatflows:view"]},
                                 headers=admin_headers)
    assert response.status_code == 200, response.text
    keys = response.json()
    assert [k["keyName"] for k in keys] == ["ci", "admin"]
    new, admin = keys
    assert list(new) == LIST_KEYS and new["permissions"] == ["chatflows:view"] and new["chatFlows"] == []
    assert len(new["apiKey"]) == 43 and "..." not in new["apiKey"]
    assert admin["apiKey"] == "test...-key"

    plain = new["apiKey"]
    listed = (await client.get("/apikey", headers=admin_headers)).json()
    assert [k["apiKey"] for k in listed] == [f"{plain[:4]}...{plain[-4:]}", "test...-key"]
    assert all("keyHash" not in k and k["apiSecret"].count(".") == 1 for k in listed)  # scrypt hash.salt
    assert plain not in str(app.state.mock.db.query("SELECT * FROM apikey"))

    headers = {"Authorization": f"Bearer {plain}"}
    assert (await client.get("/chatflows", headers=headers)).status_code == 200
    assert (await client.get("/tools", headers=headers)).status_code == 403


@pytest.mark.parametrize("body", [
    {"keyName": "x"},
    {"keyName": "x", "permissions": []},
    {"keyName": "x", "permissions": "chatflows:view"},
    {"keyName": "x", "permissions": [1]},
])
async def test_bad_permissions_are_refused(client, admin_headers, expect_error, body) -> None:
    """Flowise answers 412 ``... permissions must be an array of strings!``; the spec's schema makes the
    pipeline answer 400 first. Either way the message names the field."""
    response = await client.post("/apikey", json=body, headers=admin_headers)
    assert "permissions" in expect_error(response, response.status_code)
    assert response.status_code in (400, 412)


@pytest.mark.parametrize("permission", ["workspace:view", "admin:manage"])
async def test_workspace_and_admin_permissions_are_400(client, admin_headers, expect_error, permission) -> None:
    response = await client.post("/apikey", json={"keyName": "x", "permissions": ["chatflows:view", permission]},
                                 headers=admin_headers)
    assert "permissions" in expect_error(response, 400)


async def test_update_renames_and_takes_effect_at_once(client, admin_headers, key_headers, expect_error) -> None:
    headers = await key_headers("chatflows:view", name="ci")
    ident = await key_id(client, admin_headers, "ci")
    response = await client.put(f"/apikey/{ident}", json={"keyName": "ci-2", "permissions": ["tools:view"]},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    entry = next(k for k in response.json() if k["id"] == ident)
    assert entry["keyName"] == "ci-2" and entry["permissions"] == ["tools:view"] and "..." in entry["apiKey"]
    assert (await client.get("/chatflows", headers=headers)).status_code == 403
    assert (await client.get("/tools", headers=headers)).status_code == 200
    expect_error(await client.put(f"/apikey/{MISSING}", json={"keyName": "x", "permissions": ["tools:view"]},
                                  headers=admin_headers), 404, f"ApiKey {MISSING} not found")


async def test_delete_revokes(client, admin_headers, key_headers, expect_error) -> None:
    headers = await key_headers("chatflows:view", name="doomed")
    ident = await key_id(client, admin_headers, "doomed")
    assert (await client.get(f"/verify/apikey/{bearer(headers)}")).json() == "OK"
    response = await client.delete(f"/apikey/{ident}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 1}
    refused = await client.get("/chatflows", headers=headers)
    assert refused.status_code == 401 and refused.json() == {"error": "Unauthorized Access"}
    expect_error(await client.get(f"/verify/apikey/{bearer(headers)}"), 401, "Unauthorized")
    expect_error(await client.delete(f"/apikey/{ident}", headers=admin_headers), 404)


async def test_delete_missing_answers_200_under_quirks(make_client, admin_headers) -> None:
    client = make_client(quirks="flowise-3.1")
    response = await client.delete(f"/apikey/{MISSING}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 0}


async def test_verify_is_public(client, expect_error) -> None:
    response = await client.get("/verify/apikey/test-admin-key")
    assert response.status_code == 200 and response.json() == "OK"
    expect_error(await client.get("/verify/apikey/nope"), 401, "Unauthorized")


async def test_list_shows_bound_chatflows_and_paginates(client, admin_headers, key_headers) -> None:
    await key_headers("chatflows:view", name="bound")
    ident = await key_id(client, admin_headers, "bound")
    await client.post("/chatflows", json={"name": "Support", "flowData": "{}", "type": "CHATFLOW",
                                          "category": "faq", "apikeyid": ident}, headers=admin_headers)
    bound = next(k for k in (await client.get("/apikey", headers=admin_headers)).json() if k["id"] == ident)
    assert [(c["flowName"], c["category"]) for c in bound["chatFlows"]] == [("Support", "faq")]
    page = (await client.get("/apikey", params={"page": 1, "limit": 1}, headers=admin_headers)).json()
    assert page["total"] == 2 and [k["keyName"] for k in page["data"]] == ["bound"]


async def test_auth(client, key_headers) -> None:
    response = await client.get("/apikey")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    viewer = await key_headers("apikeys:view")
    assert (await client.get("/apikey", headers=viewer)).status_code == 200
    response = await client.post("/apikey", json={"keyName": "x", "permissions": ["tools:view"]}, headers=viewer)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}


async def test_a_key_cannot_grant_more_than_it_holds(client, admin_headers, key_headers, expect_error) -> None:
    """A scoped key may create and update keys within its own permissions only (400 beyond them, before
    the lookup), and lists only the keys whose permissions it all holds: itself and those below it."""
    scoped = await key_headers("apikeys:view", "apikeys:create", "apikeys:update", "tools:view", "tools:create",
                               name="scoped")
    response = await client.post("/apikey", json={"keyName": "child", "permissions": ["tools:view"]}, headers=scoped)
    assert response.status_code == 200, response.text
    assert sorted(k["keyName"] for k in response.json()) == ["child", "scoped"]
    expect_error(await client.post("/apikey", json={"keyName": "x", "permissions": ["tools:view", "credentials:view"]},
                                   headers=scoped), 400, "Cannot create API key with permissions that exceed your own permissions")
    child = await key_id(client, admin_headers, "child")
    expect_error(await client.put(f"/apikey/{child}", json={"keyName": "child", "permissions": ["tools:delete"]},
                                  headers=scoped), 400, "Cannot update API key with permissions that exceed your own permissions")
    expect_error(await client.put(f"/apikey/{MISSING}", json={"keyName": "x", "permissions": ["tools:delete"]},
                                  headers=scoped), 400, "Cannot update API key with permissions that exceed your own permissions")
    expect_error(await client.put(f"/apikey/{MISSING}", json={"keyName": "x", "permissions": ["tools:view"]},
                                  headers=scoped), 404)
    listed = (await client.get("/apikey", headers=scoped)).json()
    assert sorted(k["keyName"] for k in listed) == ["child", "scoped"]
    page = (await client.get("/apikey", params={"page": 1, "limit": 1}, headers=scoped)).json()
    assert page["total"] == 2 and len(page["data"]) == 1
    assert {k["keyName"] for k in (await client.get("/apikey", headers=admin_headers)).json()} >= {"admin", "scoped"}
