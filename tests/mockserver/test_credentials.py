"""Credentials over HTTP: encrypted at rest, redacted on read, merged on update, never sent in the clear."""

from __future__ import annotations

import pytest

from mockserver.resources.credentials import REDACTED, decrypt

SECRET = "sk-fake-local-123"
CREDENTIAL = {"name": "fake-openai", "credentialName": "openAIApi",
              "plainDataObj": {"openAIApiKey": SECRET, "basePath": "http://127.0.0.1:9"}}
MISSING = "00000000-0000-0000-0000-000000000000"
PUBLIC_KEYS = ["id", "name", "credentialName", "workspaceId", "createdDate", "updatedDate"]


async def create(client, headers, **fields) -> dict:
    response = await client.post("/credentials", json={**CREDENTIAL, **fields}, headers=headers)
    assert response.status_code == 200, response.text
    assert SECRET not in response.text
    return response.json()


async def test_lifecycle(client, app, admin_headers, expect_error) -> None:
    created = await create(client, admin_headers)
    assert list(created) == ["name", "credentialName", "encryptedData", "workspaceId", "id", "createdDate",
                             "updatedDate"]
    db = app.state.mock.db
    assert decrypt(db, created["encryptedData"]) == CREDENTIAL["plainDataObj"]
    assert SECRET not in str(db.query("SELECT * FROM credential"))
    credential_id = created["id"]

    got = await client.get(f"/credentials/{credential_id}", headers=admin_headers)
    assert got.status_code == 200 and SECRET not in got.text
    assert list(got.json()) == [*PUBLIC_KEYS, "plainDataObj"]
    assert got.json()["plainDataObj"] == {"openAIApiKey": REDACTED, "basePath": REDACTED}

    listed = (await client.get("/credentials", headers=admin_headers)).json()
    assert listed == [{key: created[key] for key in PUBLIC_KEYS}]

    response = await client.put(f"/credentials/{credential_id}", headers=admin_headers, json={
        "name": "renamed", "plainDataObj": {"openAIApiKey": REDACTED, "basePath": "http://localhost:1"}})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "renamed" and "plainDataObj" not in updated and SECRET not in response.text
    assert updated["updatedDate"] > created["updatedDate"]
    assert decrypt(db, updated["encryptedData"]) == {"openAIApiKey": SECRET, "basePath": "http://localhost:1"}
    got = (await client.get(f"/credentials/{credential_id}", headers=admin_headers)).json()
    assert got["name"] == "renamed" and got["plainDataObj"] == {"openAIApiKey": REDACTED, "basePath": REDACTED}

    response = await client.delete(f"/credentials/{credential_id}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 1}
    expect_error(await client.get(f"/credentials/{credential_id}", headers=admin_headers), 404,
                 f"Credential {credential_id} not found")
    expect_error(await client.delete(f"/credentials/{credential_id}", headers=admin_headers), 404)


async def test_quirks(make_client, admin_headers, expect_error) -> None:
    client = make_client(quirks="flowise-3.1")
    expect_error(await client.get(f"/credentials/{MISSING}", headers=admin_headers), 500,
                 f"Error: credentialsService.getCredentialById - Credential {MISSING} not found")
    response = await client.delete(f"/credentials/{MISSING}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 0}


async def test_list_filters_by_component(client, admin_headers) -> None:
    openai = await create(client, admin_headers)
    await create(client, admin_headers, name="other", credentialName="anthropicApi")
    filtered = (await client.get("/credentials", params={"credentialName": "openAIApi"}, headers=admin_headers))
    assert [c["id"] for c in filtered.json()] == [openai["id"]]
    assert len((await client.get("/credentials", headers=admin_headers)).json()) == 2


async def test_encryption_key_survives_a_restart(make_client, admin_headers, tmp_path) -> None:
    db_file = str(tmp_path / "mock.db")
    first = make_client(db=db_file)
    created = await create(first, admin_headers)
    second = make_client(db=db_file)
    response = await second.put(f"/credentials/{created['id']}", json={"plainDataObj": {"extra": "1"}},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    got = (await second.get(f"/credentials/{created['id']}", headers=admin_headers)).json()
    assert set(got["plainDataObj"]) == {"openAIApiKey", "basePath", "extra"}


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "credentialName": "openAIApi"}, "plainDataObj"),
    ({"credentialName": "openAIApi", "plainDataObj": {}}, "name"),
    ({**CREDENTIAL, "plainDataObj": "sk-123"}, "plainDataObj"),
])
async def test_bad_bodies_are_400_naming_the_field(client, admin_headers, expect_error, body, field) -> None:
    assert field in expect_error(await client.post("/credentials", json=body, headers=admin_headers), 400)


async def test_auth(client, key_headers, admin_headers) -> None:
    response = await client.get("/credentials")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    created = await create(client, admin_headers)
    viewer = await key_headers("credentials:view")
    assert (await client.get("/credentials", headers=viewer)).status_code == 200
    response = await client.get(f"/credentials/{created['id']}", headers=viewer)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
