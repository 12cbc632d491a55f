"""Chatflows over HTTP: CRUD, listing, key-bound listing, the public widget helpers, auth and quirks."""

from __future__ import annotations

import json
import uuid

import pytest

EMPTY_FLOW = '{"nodes":[],"edges":[]}'
CHATFLOW = {"name": "Support bot", "flowData": EMPTY_FLOW, "type": "CHATFLOW"}
MISSING = "00000000-0000-0000-0000-000000000000"
ENTITY_KEYS = ["id", "name", "flowData", "deployed", "isPublic", "apikeyid", "chatbotConfig", "apiConfig",
               "analytic", "speechToText", "textToSpeech", "followUpPrompts", "category", "type",
               "mcpServerConfig", "webhookSecretConfigured", "workspaceId", "createdDate", "updatedDate"]


async def create(client, headers, **fields) -> dict:
    response = await client.post("/chatflows", json={**CHATFLOW, **fields}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def flow(*nodes: dict, edges: list | None = None) -> str:
    return json.dumps({"nodes": list(nodes), "edges": edges or []})


def node(node_id: str, **data) -> dict:
    return {"id": node_id, "data": {"id": node_id, **data}}


async def test_lifecycle(client, admin_headers, expect_error) -> None:
    created = await create(client, admin_headers, isPublic=True, category="a;b")
    assert list(created)[:7] == ["name", "flowData", "type", "isPublic", "category", "workspaceId", "id"]
    assert sorted(created) == sorted([*ENTITY_KEYS, "webhookSecret"])  # save() answers the write-only column too
    assert created["webhookSecret"] is None
    assert created["isPublic"] is True and created["deployed"] is None
    assert created["webhookSecretConfigured"] is False
    chatflow_id = created["id"]

    got = (await client.get(f"/chatflows/{chatflow_id}", headers=admin_headers)).json()
    assert list(got) == ENTITY_KEYS
    assert {**got, "webhookSecret": None} == created and got["flowData"] == EMPTY_FLOW

    listed = (await client.get("/chatflows", headers=admin_headers)).json()
    assert [c["id"] for c in listed] == [chatflow_id]

    response = await client.put(f"/chatflows/{chatflow_id}", json={"name": "v2", "deployed": True},
                                headers=admin_headers)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "v2" and updated["deployed"] is True and updated["category"] == "a;b"
    assert updated["updatedDate"] > created["updatedDate"]
    assert updated["createdDate"] == created["createdDate"]
    assert {**(await client.get(f"/chatflows/{chatflow_id}", headers=admin_headers)).json(), "webhookSecret": None} == updated

    response = await client.delete(f"/chatflows/{chatflow_id}", headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 1}
    message = f"Chatflow {chatflow_id} not found in the database!"
    expect_error(await client.get(f"/chatflows/{chatflow_id}", headers=admin_headers), 404, message)
    expect_error(await client.put(f"/chatflows/{chatflow_id}", json={"name": "x"}, headers=admin_headers), 404,
                 message)
    expect_error(await client.delete(f"/chatflows/{chatflow_id}", headers=admin_headers), 404, message)


async def test_quirks_reproduce_the_real_server(make_client, admin_headers, expect_error) -> None:
    client = make_client(quirks="flowise-3.1")
    # GET and PUT keep their 404 on a real Flowise; DELETE and the public helpers wrap it into a 500.
    expect_error(await client.get(f"/chatflows/{MISSING}", headers=admin_headers), 404,
                 f"Chatflow {MISSING} not found in the database!")
    expect_error(await client.delete(f"/chatflows/{MISSING}", headers=admin_headers), 500,
                 f"Error: chatflowsService.deleteChatflow - Chatflow {MISSING} not found in the database!")
    expect_error(await client.get(f"/chatflows-streaming/{MISSING}"), 500,
                 f"Error: chatflowsService.checkIfChatflowIsValidForStreaming - Chatflow {MISSING} not found")
    expect_error(await client.get(f"/public-chatbotConfig/{MISSING}"), 500,
                 f"Error: chatflowsService.getSinglePublicChatbotConfig - Chatflow {MISSING} not found")


async def test_delete_takes_the_chatflows_rows_along(client, app, admin_headers) -> None:
    keep = await create(client, admin_headers, name="keep")
    gone = await create(client, admin_headers, name="gone")
    db = app.state.mock.db
    for chatflow in (keep, gone):
        cid = chatflow["id"]
        db.insert("chat_message", {"id": str(uuid.uuid4()), "role": "userMessage", "chatflowid": cid, "content": "hi",
                                   "chatType": "EXTERNAL", "chatId": "c1", "createdDate": "2026-01-01T00:00:00.000Z"})
        db.insert("chat_message_feedback", {"id": str(uuid.uuid4()), "chatflowid": cid, "chatId": "c1",
                                            "messageId": str(uuid.uuid4()), "createdDate": "2026-01-01T00:00:00.000Z"})
        db.insert("lead", {"id": str(uuid.uuid4()), "chatflowid": cid, "chatId": "c1",
                           "createdDate": "2026-01-01T00:00:00.000Z"})
        db.insert("upsert_history", {"id": str(uuid.uuid4()), "chatflowid": cid, "result": "{}", "flowData": "{}",
                                     "date": "2026-01-01T00:00:00.000Z"})
        db.insert("vector", {"id": str(uuid.uuid4()), "namespace": cid, "contentHash": "h", "pageContent": "p",
                             "embedding": b"\0", "createdDate": "2026-01-01T00:00:00.000Z"})
    assert (await client.delete(f"/chatflows/{gone['id']}", headers=admin_headers)).json()["affected"] == 1
    for table, column in (("chat_message", "chatflowid"), ("chat_message_feedback", "chatflowid"),
                          ("lead", "chatflowid"), ("upsert_history", "chatflowid"), ("vector", "namespace")):
        assert db.scalar(f'SELECT COUNT(*) FROM "{table}" WHERE "{column}" = ?', (gone["id"],)) == 0, table
        assert db.scalar(f'SELECT COUNT(*) FROM "{table}" WHERE "{column}" = ?', (keep["id"],)) == 1, table


async def test_list_is_newest_first_filters_by_type_and_paginates(client, admin_headers) -> None:
    first = await create(client, admin_headers, name="first")
    agent = await create(client, admin_headers, name="agent", type="AGENTFLOW")
    last = await create(client, admin_headers, name="last")
    listed = (await client.get("/chatflows", headers=admin_headers)).json()
    assert [c["name"] for c in listed] == ["last", "agent", "first"]
    await client.put(f"/chatflows/{first['id']}", json={"category": "touched"}, headers=admin_headers)
    listed = (await client.get("/chatflows", headers=admin_headers)).json()
    assert [c["name"] for c in listed] == ["first", "last", "agent"]

    agents = (await client.get("/chatflows", params={"type": "AGENTFLOW"}, headers=admin_headers)).json()
    assert [c["id"] for c in agents] == [agent["id"]]

    page = (await client.get("/chatflows", params={"page": 2, "limit": 2}, headers=admin_headers)).json()
    assert page["total"] == 3 and [c["name"] for c in page["data"]] == ["agent"]
    typed = (await client.get("/chatflows", params={"type": "CHATFLOW", "page": 1, "limit": 1},
                              headers=admin_headers)).json()
    assert typed["total"] == 2 and [c["id"] for c in typed["data"]] == [first["id"]]
    assert last["id"] in {c["id"] for c in listed}


@pytest.mark.parametrize(("body", "field"), [
    ({"flowData": EMPTY_FLOW, "type": "CHATFLOW"}, "name"),
    ({"name": "x", "type": "CHATFLOW"}, "flowData"),
    ({"name": "x", "flowData": EMPTY_FLOW}, "type"),
    ({**CHATFLOW, "type": "WORKFLOW"}, "type"),
    ({**CHATFLOW, "deployed": "yes"}, "deployed"),
    ({**CHATFLOW, "flowData": {"nodes": []}}, "flowData"),
])
async def test_bad_create_bodies_are_400_naming_the_field(client, admin_headers, expect_error, body, field) -> None:
    message = expect_error(await client.post("/chatflows", json=body, headers=admin_headers), 400)
    assert field in message


async def test_update_refuses_a_bad_type_and_ignores_server_fields(client, admin_headers, expect_error) -> None:
    created = await create(client, admin_headers)
    expect_error(await client.put(f"/chatflows/{created['id']}", json={"type": "NOPE"}, headers=admin_headers), 400)
    response = await client.put(f"/chatflows/{created['id']}", json={"id": MISSING, "workspaceId": "x"},
                                headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["id"] == created["id"] and response.json()["workspaceId"] == created["workspaceId"]


async def test_non_uuid_id_is_400(client, admin_headers, expect_error) -> None:
    assert "id" in expect_error(await client.get("/chatflows/not-a-uuid", headers=admin_headers), 400)


async def test_auth_gate_and_permissions(client, key_headers, admin_headers) -> None:
    response = await client.get("/chatflows")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    tools_only = await key_headers("tools:view")
    response = await client.get("/chatflows", headers=tools_only)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    viewer = await key_headers("chatflows:view")
    assert (await client.get("/chatflows", headers=viewer)).status_code == 200
    response = await client.post("/chatflows", json=CHATFLOW, headers=viewer)
    assert response.status_code == 403 and response.json() == {"message": "Forbidden"}
    agent_creator = await key_headers("agentflows:create")
    assert (await client.post("/chatflows", json=CHATFLOW, headers=agent_creator)).status_code == 200


async def test_chatflows_by_api_key(client, admin_headers, key_headers) -> None:
    bound_headers = await key_headers("chatflows:view", name="bound")
    await key_headers("chatflows:view", name="other")
    keys = {k["keyName"]: k["id"] for k in (await client.get("/apikey", headers=admin_headers)).json()}
    plain = bound_headers["Authorization"].removeprefix("Bearer ")
    mine = await create(client, admin_headers, name="b-mine", apikeyid=keys["bound"])
    free = await create(client, admin_headers, name="a-free")
    await create(client, admin_headers, name="c-other", apikeyid=keys["other"])

    response = await client.get(f"/chatflows/apikey/{plain}")
    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [free["id"], mine["id"]]
    only = (await client.get(f"/chatflows/apikey/{plain}", params={"keyonly": "true"})).json()
    assert [c["id"] for c in only] == [mine["id"]]

    unknown = await client.get("/chatflows/apikey/not-a-key")
    assert unknown.status_code == 401 and unknown.text == "Unauthorized"
    assert unknown.headers["content-type"].startswith("text/html")


async def test_has_changed(client, admin_headers) -> None:
    created = await create(client, admin_headers)
    url = f"/chatflows/has-changed/{created['id']}"
    assert (await client.get(f"{url}/2020-01-01T00:00:00.000Z", headers=admin_headers)).json() == {"hasChanged": True}
    seen = created["updatedDate"]
    assert (await client.get(f"{url}/{seen}", headers=admin_headers)).json() == {"hasChanged": False}
    await client.put(f"/chatflows/{created['id']}", json={"name": "edited"}, headers=admin_headers)
    assert (await client.get(f"{url}/{seen}", headers=admin_headers)).json() == {"hasChanged": True}


async def test_streaming_check(client, admin_headers) -> None:
    ending = node("end", name="customFunction", outputs={"output": "EndingNode"})
    cases = [
        ({}, True),
        ({"flowData": flow(ending)}, False),
        ({"chatbotConfig": '{"postProcessing":{"enabled":true}}'}, False),
        ({"type": "AGENTFLOW", "flowData": flow(ending)}, True),
    ]
    for fields, expected in cases:
        chatflow = await create(client, admin_headers, **fields)
        response = await client.get(f"/chatflows-streaming/{chatflow['id']}")
        assert response.status_code == 200 and response.json() == {"isStreaming": expected}, fields


async def test_uploads_check(client, admin_headers) -> None:
    plain = await create(client, admin_headers)
    response = await client.get(f"/chatflows-uploads/{plain['id']}")
    assert response.status_code == 200
    assert response.json() == {"isSpeechToTextEnabled": False, "isImageUploadAllowed": False,
                               "isRAGFileUploadAllowed": False, "imgUploadSizeAndTypes": [],
                               "fileUploadSizeAndTypes": []}

    graph = flow(node("chain", name="llmChain", category="Chains"),
                 node("model", name="chatOpenAI", category="Chat Models", inputs={"allowImageUploads": True}),
                 node("store", name="memoryVectorStore", category="Vector Stores", inputs={"fileUpload": True}),
                 node("loader", name="pdfFile", category="Document Loaders",
                      inputParams=[{"name": "pdfFile", "type": "file", "fileType": ".pdf, .txt"}]),
                 edges=[{"source": "loader", "target": "store", "targetHandle": "store-input-document-Document"}])
    rich = await create(client, admin_headers, flowData=graph,
                        speechToText='{"none":{"status":true},"openAIWhisper":{"status":true}}')
    config = (await client.get(f"/chatflows-uploads/{rich['id']}")).json()
    assert config["isSpeechToTextEnabled"] and config["isImageUploadAllowed"] and config["isRAGFileUploadAllowed"]
    assert config["imgUploadSizeAndTypes"] == [
        {"fileTypes": ["image/gif", "image/jpeg", "image/png", "image/webp"], "maxUploadSize": 5}]
    assert config["fileUploadSizeAndTypes"] == [{"fileTypes": [".pdf", ".txt"], "maxUploadSize": 500}]

    full = await create(client, admin_headers,
                        chatbotConfig='{"fullFileUpload":{"status":true,"allowedUploadFileTypes":"text/plain,application/pdf"}}')
    config = (await client.get(f"/chatflows-uploads/{full['id']}")).json()
    assert config["fileUploadSizeAndTypes"] == [{"fileTypes": ["text/plain", "application/pdf"], "maxUploadSize": 500}]


async def test_public_chatbot_config(client, admin_headers) -> None:
    bare = await create(client, admin_headers)
    response = await client.get(f"/public-chatbotConfig/{bare['id']}")
    assert response.status_code == 200
    assert response.json() == {
        "uploads": {"isSpeechToTextEnabled": False, "isImageUploadAllowed": False, "isRAGFileUploadAllowed": False,
                    "imgUploadSizeAndTypes": [], "fileUploadSizeAndTypes": []},
        "flowData": EMPTY_FLOW, "isTTSEnabled": False}

    secret_flow = flow(node("model", name="chatOpenAI", credential="cred-id",
                            inputParams=[{"name": "openAIApiKey", "type": "password"}],
                            inputs={"openAIApiKey": "sk-secret", "temperature": 0.2}))
    configured = await create(client, admin_headers, flowData=secret_flow,
                              chatbotConfig=json.dumps({"welcomeMessage": "Hello!", "allowedOrigins": ["https://a.b"],
                                                        "allowedOriginsError": "no"}),
                              textToSpeech='{"openai":{"status":true}}')
    body = (await client.get(f"/public-chatbotConfig/{configured['id']}")).json()
    assert list(body) == ["welcomeMessage", "uploads", "flowData", "isTTSEnabled"]
    assert body["welcomeMessage"] == "Hello!" and body["isTTSEnabled"] is True
    assert "sk-secret" not in body["flowData"] and "cred-id" not in body["flowData"]
    assert json.loads(body["flowData"])["nodes"][0]["data"]["inputs"] == {"temperature": 0.2}


async def test_public_chatflow_only_when_public(client, admin_headers, expect_error) -> None:
    private = await create(client, admin_headers)
    response = await client.get(f"/public-chatflows/{private['id']}")
    assert response.status_code == 401 and response.json() == {"message": "Unauthorized"}
    await client.put(f"/chatflows/{private['id']}", json={"isPublic": True}, headers=admin_headers)
    response = await client.get(f"/public-chatflows/{private['id']}")
    assert response.status_code == 200 and response.json()["id"] == private["id"]
    assert response.json()["isPublic"] is True
    expect_error(await client.get(f"/public-chatflows/{MISSING}"), 404)
