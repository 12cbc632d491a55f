"""What the reference harness found an older release line doing differently, as ``--quirks flowise-3.0`` /
``flowise-2.2`` reproduce it (conformance/reference/README.md, "Remaining differences (3.0.13, 2.2.8)"); each test also
holds the newer line, or the contract, to its own answer, so a quirk that leaks shows."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from mockserver import create_app
from mockserver.spec import Spec
from tests.mockserver.mockserver_settings import ADMIN, asgi_client, mock_settings

MISSING = "00000000-0000-0000-0000-000000000000"
FLOW = {"name": "q", "type": "CHATFLOW", "flowData": '{"nodes":[],"edges":[]}'}
ASSISTANT = {"details": json.dumps({"name": "Helpdesk"}), "credential": str(uuid.uuid4()), "type": "CUSTOM"}
EMPTY_CRITERIA = ("Error: upsertHistoryServices.patchDeleteUpsertHistory - Empty criteria(s) are not allowed "
                  "for the delete method.")


@asynccontextmanager
async def _mock(spec: Spec, quirks: str) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    app: Any = create_app(mock_settings(fast=True, quirks=quirks), spec=spec)
    async with asgi_client(app) as client:
        yield app, client


def _record(app: Any, owner: str) -> str:
    """An upsert history record under ``owner`` (inserted directly, as a vector upsert would)."""
    row = {"id": str(uuid.uuid4()), "chatflowid": owner, "date": "2026-01-01T10:00:00.000Z",
           "result": json.dumps({"numAdded": 1}), "flowData": json.dumps({"nodes": [], "edges": []})}
    app.state.mock.db.insert("upsert_history", row)
    return str(row["id"])


async def test_30_lists_upsert_history_of_any_id(spec: Spec, expect_error: Any) -> None:
    """`unknown-owner-empty-list`: 3.0 and 2.2 answer 200 `[]` for an unknown or malformed id; 3.1 404 / 400."""
    for quirks in ("flowise-3.0", "flowise-2.2"):
        async with _mock(spec, quirks) as (app, client):
            for owner in (MISSING, "not-a-uuid"):
                listed = await client.get(f"/upsert-history/{owner}", headers=ADMIN)
                assert (listed.status_code, listed.json()) == (200, []), (quirks, owner, listed.text)
            stray = str(uuid.uuid4())  # records under an id no chatflow has are listed too
            recorded = _record(app, stray)
            listed = await client.get(f"/upsert-history/{stray}", headers=ADMIN)
            assert [row["id"] for row in listed.json()] == [recorded]
    async with _mock(spec, "flowise-3.1") as (_, newest):
        unknown = await newest.get(f"/upsert-history/{MISSING}", headers=ADMIN)
        assert "not found in workspace" in expect_error(unknown, 404)
        assert (await newest.get("/upsert-history/not-a-uuid", headers=ADMIN)).status_code == 400


async def test_30_deletes_upsert_history_as_typeorm_does(spec: Spec, expect_error: Any) -> None:
    """`delete-missing-200` on 3.0 and 2.2: `ids` goes to TypeORM's `delete` as sent."""
    for quirks in ("flowise-3.0", "flowise-2.2"):
        async with _mock(spec, quirks) as (app, client):
            flow = (await client.post("/chatflows", headers=ADMIN, json=FLOW)).json()["id"]
            first, second, _third = (_record(app, flow) for _ in range(3))

            async def delete(body: Any) -> httpx.Response:
                return await client.patch("/upsert-history", headers=ADMIN, json=body)

            unknown = await delete({"ids": [MISSING, str(uuid.uuid4())]})
            assert (unknown.status_code, unknown.json()) == (200, {"raw": [], "affected": 0})
            mixed = await delete({"ids": [first, MISSING]})
            assert mixed.json() == {"raw": [], "affected": 1}  # the ids that exist go, the others count for nothing
            assert (await delete({"ids": second})).json() == {"raw": [], "affected": 1}  # one id, not a list
            number = await delete({"ids": 12345})
            assert (number.status_code, number.json()) == (200, {"raw": [], "affected": 0})
            for body in ({}, {"ids": []}, {"ids": ""}, {"ids": None}, {"ids": True}, {"ids": [first, {"id": first}]}):
                assert expect_error(await delete(body), 500) == EMPTY_CRITERIA, (quirks, body)
            assert expect_error(await client.patch("/upsert-history", headers=ADMIN), 500) == EMPTY_CRITERIA
            assert 'Property "nope" was not found' in expect_error(await delete({"ids": {"nope": 1}}), 500)
            by_owner = await delete({"ids": {"chatflowid": flow}})  # an object is a `where`
            assert by_owner.json() == {"raw": [], "affected": 1}
            assert (await client.get(f"/upsert-history/{flow}", headers=ADMIN)).json() == []
    async with _mock(spec, "flowise-3.1") as (_, newest):
        missing = await newest.patch("/upsert-history", headers=ADMIN, json={"ids": [MISSING]})
        assert "not found" in expect_error(missing, 404)
        assert "ids are required" in expect_error(await newest.patch("/upsert-history", headers=ADMIN, json={}), 400)


async def test_30_saves_an_assistant_s_details_as_sent(spec: Spec, expect_error: Any) -> None:
    """3.0 and 2.2 save a CUSTOM assistant's `details` unchecked (200, the number echoed); 3.1 wants a name."""
    for quirks in ("flowise-3.0", "flowise-2.2", "flowise-3.1"):
        async with _mock(spec, quirks) as (_, client):
            created = await client.post("/assistants", headers=ADMIN, json=ASSISTANT)
            assert created.status_code == 200, created.text
            path = f"/assistants/{created.json()['id']}"
            updated = await client.put(path, headers=ADMIN, json={"details": 12345})
            if quirks == "flowise-3.1":
                assert expect_error(updated, 500) == ("Error: assistantsService.updateAssistant - Details must "
                                                      "include a name field")
                continue
            assert (updated.status_code, updated.json()["details"]) == (200, 12345), (quirks, updated.text)
            unparsed = await client.put(path, headers=ADMIN, json={"details": "not json"})
            assert (unparsed.status_code, unparsed.json()["details"]) == (200, "not json")


async def test_30_model_metadata_has_no_costs_and_a_condition_agent_no_usage(spec: Spec) -> None:
    """3.0.13's LLM node answers LangChain's three token counts and no `model_provider`; its Condition Agent
    reports no usage at all. 3.1 adds token details, costs, the provider and the Condition Agent's usage."""
    from test_agentflow_condition_agent import triage_flow
    from test_prediction import LLM_AGENTFLOW, create_flow

    for quirks in ("flowise-3.0", "flowise-3.1"):
        async with _mock(spec, quirks) as (_, client):
            llm = await create_flow(client, LLM_AGENTFLOW, "AGENTFLOW")
            output = (await client.post(f"/prediction/{llm}", json={"question": "hi"})).json()[
                "agentFlowExecutedData"][-1]["data"]["output"]
            triage = await create_flow(client, triage_flow(), "AGENTFLOW")
            chose = (await client.post(f"/prediction/{triage}", json={"question": "a refund"})).json()[
                "agentFlowExecutedData"][1]["data"]["output"]
            if quirks == "flowise-3.0":
                assert list(output["usageMetadata"]) == ["input_tokens", "output_tokens", "total_tokens"]
                assert "model_provider" not in output["responseMetadata"]
                assert output["responseMetadata"]["model_name"]
                assert list(chose) == ["conditions", "content", "timeMetadata"]
            else:
                assert {"input_token_details", "total_cost", "base_input_cost"} <= set(output["usageMetadata"])
                assert output["responseMetadata"]["model_provider"] == "openai"
                assert {"usageMetadata", "responseMetadata"} <= set(chose)


async def test_30_a_called_flow_s_error_fails_the_run(spec: Spec, expect_error: Any) -> None:
    """On 3.0 and 2.2 an Execute Flow node posts with plain axios, which throws on a 404: the prediction
    answers 500; 3.1 takes the error body as the node's answer (wire change execute-flow-error-is-the-answer)."""
    from test_agentflow_execute_flow import caller
    from test_prediction import create_flow

    missing = "00000000-0000-4000-8000-00000000dead"
    for quirks in ("flowise-3.0", "flowise-3.1"):
        async with _mock(spec, quirks) as (_, client):
            flow_id = await create_flow(client, caller(missing), "AGENTFLOW")
            answer = await client.post(f"/prediction/{flow_id}", json={"question": "hi"})
            if quirks == "flowise-3.1":
                assert answer.status_code == 200 and json.loads(answer.json()["text"])["statusCode"] == 404
            else:
                assert expect_error(answer, 500) == ("Error: predictionsServices.buildChatflow - AxiosError: "
                                                     "Request failed with status code 404")
                stream = await client.post(f"/prediction/{flow_id}", json={"question": "hi", "streaming": True})
                assert ('data:{"event":"error","data":"Error: predictionsServices.buildChatflow - AxiosError: '
                        'Request failed with status code 404"}') in stream.text


def test_every_line_change_the_mock_keeps_is_a_catalogued_wire_change() -> None:
    """versions.CHANGES names wire changes of conformance/wire_changes.toml, with the same first line."""
    import tomllib
    from pathlib import Path

    from mockserver import versions

    catalogue = tomllib.loads((Path(__file__).parents[2] / "conformance" / "wire_changes.toml").read_text())
    since = {change["id"]: change["since"] for change in catalogue["change"]}
    assert {change: since.get(change) for change in versions.CHANGES} == versions.CHANGES
    assert {"chatflow-has-changed", "agentflows-v2", "model-usage-details", "chatbot-config-flow-data"} <= set(since)


async def test_22_has_no_has_changed_route_and_no_executions(spec: Spec) -> None:
    """2.2 has neither route: with a key, the UI's index.html, as any unknown route; without one, 401."""
    stamp = "2020-01-01T00:00:00.000Z"
    for quirks in ("flowise-2.2", "flowise-3.0"):
        async with _mock(spec, quirks) as (_, client):
            flow = (await client.post("/chatflows", headers=ADMIN, json=FLOW)).json()["id"]
            changed = await client.get(f"/chatflows/has-changed/{flow}/{stamp}", headers=ADMIN)
            executions = await client.get("/executions", headers=ADMIN)
            anonymous = await client.get(f"/chatflows/has-changed/{flow}/{stamp}")
            assert anonymous.status_code == 401
            if quirks == "flowise-2.2":
                for answer in (changed, executions):
                    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
            else:
                assert changed.json() == {"hasChanged": True}
                assert executions.headers["content-type"].startswith("application/json")


async def test_22_saves_a_chatflow_of_any_type(spec: Spec, expect_error: Any) -> None:
    """2.2 checks no type; it parses flowData first, so a create without one is its 500."""
    async with _mock(spec, "flowise-2.2") as (_, client):
        missing = await client.post("/chatflows", headers=ADMIN, json={"name": "no type"})
        assert expect_error(missing, 500) == 'Error: chatflowsService.saveChatflow - "undefined" is not valid JSON'
        odd = await client.post("/chatflows", headers=ADMIN, json={**FLOW, "type": "SOMETHING"})
        assert (odd.status_code, odd.json()["type"]) == (200, "SOMETHING")
        renamed = await client.put(f"/chatflows/{odd.json()['id']}", headers=ADMIN, json={"type": "OTHER"})
        assert renamed.json()["type"] == "OTHER"
    async with _mock(spec, "flowise-3.0") as (_, client):
        refused = await client.post("/chatflows", headers=ADMIN, json={"name": "no type"})
        assert expect_error(refused, 400) == "Invalid Chatflow Type"


async def test_22_widget_routes(spec: Spec, expect_error: Any) -> None:
    """2.2: an agentflow cannot stream (agentflows-missing), the chatbot config has no flowData or TTS flag,
    and a chatflow that is not public is refused with the error handler's body."""
    from test_prediction import DIRECT_REPLY, create_flow

    for quirks in ("flowise-2.2", "flowise-3.0"):
        async with _mock(spec, quirks) as (_, client):
            flow = await create_flow(client, DIRECT_REPLY, "AGENTFLOW")
            streaming = await client.get(f"/chatflows-streaming/{flow}")
            config = (await client.get(f"/public-chatbotConfig/{flow}")).json()
            private = await client.get(f"/public-chatflows/{flow}")
            if quirks == "flowise-2.2":
                assert expect_error(streaming, 500) == ("Error: chatflowsService.checkIfChatflowIsValidForStreaming"
                                                        " - Ending node must be either a Chain or Agent or Engine")
                assert list(config) == ["uploads"]
                assert expect_error(private, 401) == "Unauthorized"
            else:
                assert streaming.json() == {"isStreaming": True}
                assert list(config) == ["uploads", "flowData", "isTTSEnabled"]
                assert (private.status_code, private.json()) == (401, {"message": "Unauthorized"})


async def test_22_wraps_an_unknown_or_malformed_prediction_id(spec: Spec, expect_error: Any) -> None:
    """2.2 looks any id up as sent and wraps the miss: 500 (missing-id-500, malformed-id-accepted on 2.2)."""
    async with _mock(spec, "flowise-2.2") as (_, client):
        for flow in (MISSING, "not-a-uuid"):
            answer = await client.post(f"/prediction/{flow}", json={"question": "hi"})
            assert expect_error(answer, 500) == (f"Error: chatflowsService.getChatflowById - Chatflow {flow} not "
                                                 "found in the database!")
    async with _mock(spec, "flowise-3.0") as (_, client):
        assert (await client.post(f"/prediction/{MISSING}", json={"question": "hi"})).status_code == 404
        assert (await client.post("/prediction/not-a-uuid", json={"question": "hi"})).status_code == 400


async def test_22_looks_malformed_and_unknown_chatflow_ids_up(spec: Spec, expect_error: Any) -> None:
    """2.2 checks no UUID on the chatflow routes and wraps the miss (missing-id-500, malformed-id-accepted on
    2.2); its chat message list checks no chatflow at all (unknown-owner-empty-list)."""
    for quirks in ("flowise-2.2", "flowise-3.0"):
        async with _mock(spec, quirks) as (_, client):
            for flow in (MISSING, "not-a-uuid"):
                got = await client.get(f"/chatflows/{flow}", headers=ADMIN)
                public = await client.get(f"/public-chatflows/{flow}")
                listed = await client.get(f"/chatmessage/{flow}", headers=ADMIN)
                changed = await client.put(f"/chatflows/{flow}", headers=ADMIN, json={"name": "x"})
                cleared = await client.delete(f"/chatmessage/{flow}", headers=ADMIN)
                if quirks == "flowise-2.2":
                    assert (changed.status_code, cleared.status_code) == (500, 500)
                    assert expect_error(got, 500) == (f"Error: chatflowsService.getChatflowById - Chatflow {flow} "
                                                      "not found in the database!")
                    assert expect_error(public, 500) == (f"Error: chatflowsService.getSinglePublicChatflow - "
                                                         f"Chatflow {flow} not found")
                    assert (listed.status_code, listed.json()) == (200, [])
                else:
                    malformed = flow == "not-a-uuid"
                    assert changed.status_code == (400 if malformed else 404)
                    assert cleared.status_code == (400 if malformed else 404)
                    assert got.status_code == (400 if malformed else 404)
                    assert public.status_code == (400 if malformed else 404)
                    assert listed.status_code == 500  # 3.0's workspace check finds nothing (missing-id-500)


async def test_22_wraps_every_vector_upsert_failure(spec: Spec, expect_error: Any) -> None:
    """2.2's vector service wraps every error into a 500; 3.x answers the 404 (and 415 for another media type)."""
    from test_prediction import MEMORY_FLOW, create_flow

    for quirks in ("flowise-2.2", "flowise-3.0"):
        async with _mock(spec, quirks) as (_, client):
            flow = await create_flow(client, MEMORY_FLOW)  # no vector store in it
            answers = [await client.post(f"/vector/upsert/{target}", headers=ADMIN, json={})
                       for target in (MISSING, flow)]
            answers.append(await client.post(f"/vector/upsert/{flow}", headers=ADMIN, json={"stopNodeId": 12345}))
            answers.append(await client.post(f"/vector/upsert/{flow}", content=b"{}",
                                             headers={**ADMIN, "content-type": "text/plain"}))
            if quirks == "flowise-2.2":
                assert [answer.status_code for answer in answers] == [500, 500, 500, 500]
                assert expect_error(answers[1], 500) == "Error: vectorsService.upsertVector - No vector node found"
            else:
                assert [answer.status_code for answer in answers] == [404, 404, 400, 415]


async def test_22_has_no_public_executions_and_no_attachment_upload_check(spec: Spec, expect_error: Any) -> None:
    from test_prediction import DIRECT_REPLY, create_flow

    execution = f"/public-executions/{MISSING}"
    for quirks in ("flowise-2.2", "flowise-3.0"):
        async with _mock(spec, quirks) as (_, client):
            flow = await create_flow(client, DIRECT_REPLY)
            attached = await client.post(f"/attachments/{flow}/{uuid.uuid4()}", files=[])
            anonymous = await client.get(execution)
            if quirks == "flowise-2.2":
                assert (anonymous.status_code, anonymous.json()) == (401, {"error": "Unauthorized Access"})
                keyed = await client.get(execution, headers=ADMIN)
                assert keyed.headers["content-type"].startswith("text/html")
                assert (attached.status_code, attached.json()) == (200, [])
            else:
                assert "not found" in expect_error(anonymous, 500)
                assert "File upload is not enabled" in expect_error(attached, 500)


async def test_an_unconfigured_store_cannot_be_queried_or_emptied_under_quirks(spec: Spec, expect_error: Any) -> None:
    """Flowise needs a store's embedding and vector store configs (and a record manager to delete); the
    mock's stores default to its own, so only under quirks does a store without them fail, as Flowise's."""
    for quirks in ("flowise-2.2", "flowise-3.1", None):
        settings = mock_settings(fast=True, **({"quirks": quirks} if quirks else {}))
        app: Any = create_app(settings, spec=spec)
        async with asgi_client(app) as client:
            store = (await client.post("/document-store/store", headers=ADMIN, json={"name": "s"})).json()["id"]
            query = await client.post("/document-store/vectorstore/query", headers=ADMIN,
                                      json={"storeId": store, "query": "what?"})
            emptied = await client.delete(f"/document-store/vectorstore/{store}", headers=ADMIN)
            if quirks is None:
                assert (query.status_code, emptied.status_code) == (200, 200)
            else:
                assert expect_error(query, 500) == (f"Error: documentStoreServices.queryVectorStore - Embedding for "
                                                    f"{store} is not configured")
                assert expect_error(emptied, 500) == ("Error: documentStoreServices.deleteVectorStoreFromStore - "
                                                      f"Embedding for Document store {store} not found")


async def test_22_ignores_a_chunk_overlap_of_0(spec: Spec, expect_error: Any) -> None:
    """chunk-overlap-zero-ignored holds on 2.2 too: LangChain's default overlap of 200 meets a chunkSize of 60."""
    from test_document_store import preview_body

    async with _mock(spec, "flowise-2.2") as (_, client):
        store = (await client.post("/document-store/store", headers=ADMIN, json={"name": "s"})).json()["id"]
        preview = await client.post("/document-store/loader/preview", headers=ADMIN, json=preview_body(storeId=store))
        assert "Cannot have chunkOverlap >= chunkSize" in expect_error(preview, 500)
