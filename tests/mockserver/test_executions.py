"""Agentflow executions over HTTP: listed, read, shared, deleted; and the real server's answers under quirks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mockserver_settings import ADMIN
from test_human_input import APPROVAL_FLOW
from test_prediction import DIRECT_REPLY, create_flow, messages


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def run(client: httpx.AsyncClient, flow_id: str, question: str = "hello", chat_id: str = "sess-A") -> str:
    response = await client.post(f"/prediction/{flow_id}", json={"question": question, "chatId": chat_id})
    assert response.status_code == 200, response.text
    return str(response.json()["executionId"])


async def listing(client: httpx.AsyncClient, **query: Any) -> dict[str, Any]:
    response = await client.get("/executions", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_run_is_listed_with_its_agentflow_and_read_by_id(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW")
    execution_id = await run(mock, flow_id)
    page = await listing(mock)
    assert page["total"] == 1
    [item] = page["data"]
    assert list(item) == ["id", "executionData", "state", "agentflowId", "sessionId", "action", "isPublic",
                          "createdDate", "updatedDate", "stoppedDate", "workspaceId", "agentflow"]
    assert item["id"] == execution_id and item["state"] == "FINISHED" and item["sessionId"] == "sess-A"
    assert item["agentflow"]["id"] == flow_id and item["agentflow"]["type"] == "AGENTFLOW"
    executed = json.loads(item["executionData"])
    assert [node["nodeId"] for node in executed] == ["startAgentflow_0", "directReplyAgentflow_0"]
    response = await mock.get(f"/executions/{execution_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json() == {k: v for k, v in item.items() if k != "agentflow"}


async def test_filters_and_paging(mock: httpx.AsyncClient) -> None:
    first = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW", name="Support Desk")
    second = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW", name="approvals")
    a = await run(mock, first, chat_id="s1")
    b = await run(mock, first, chat_id="s2")
    c = await run(mock, second, chat_id="s1")
    assert [e["id"] for e in (await listing(mock))["data"]] == [c, b, a]
    assert [e["id"] for e in (await listing(mock, agentflowId=first))["data"]] == [b, a]
    assert [e["id"] for e in (await listing(mock, agentflowName="SUPPORT"))["data"]] == [b, a]
    assert [e["id"] for e in (await listing(mock, sessionId="s1"))["data"]] == [c, a]
    assert [e["id"] for e in (await listing(mock, state="STOPPED"))["data"]] == [c]
    assert [e["id"] for e in (await listing(mock, id=a))["data"]] == [a]
    assert (await listing(mock, startDate="2099-01-01T00:00:00.000Z"))["data"] == []
    assert (await listing(mock, endDate="2000-01-01"))["total"] == 0
    paged = await listing(mock, page=2, limit=2)
    assert [e["id"] for e in paged["data"]] == [a] and paged["total"] == 3


async def test_sharing_makes_it_public_without_credential_ids(mock: httpx.AsyncClient, expect_error: Any) -> None:
    flow_id = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW")
    execution_id = await run(mock, flow_id)
    expect_error(await mock.get(f"/public-executions/{execution_id}"), 404, f"Execution {execution_id} not found")
    response = await mock.put(f"/executions/{execution_id}", json={"isPublic": True}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["isPublic"] is True
    public = await mock.get(f"/public-executions/{execution_id}")
    assert public.status_code == 200, public.text
    assert public.json()["id"] == execution_id and public.json()["isPublic"] is True
    assert json.loads(public.json()["executionData"])[0]["nodeId"] == "startAgentflow_0"


async def test_public_read_drops_credential_ids(app: Any, client: httpx.AsyncClient) -> None:
    flow_id = await create_flow(client, DIRECT_REPLY, "AGENTFLOW")
    execution_id = await run(client, flow_id)
    db = app.state.mock.db
    executed = [{"nodeId": "llm", "data": {"inputs": {"FLOWISE_CREDENTIAL_ID": "secret", "model": "m"}}}]
    db.update("execution", execution_id, {"executionData": json.dumps(executed), "isPublic": 1})
    public = (await client.get(f"/public-executions/{execution_id}")).json()
    assert json.loads(public["executionData"]) == [{"nodeId": "llm", "data": {"inputs": {"model": "m"}}}]


async def test_delete_one_and_many_unlinks_the_messages(mock: httpx.AsyncClient, expect_error: Any) -> None:
    flow_id = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW")
    a, b, c = [await run(mock, flow_id, chat_id=f"s{i}") for i in range(3)]
    response = await mock.delete(f"/executions/{a}", headers=ADMIN)
    assert response.status_code == 200 and response.json() == {"success": True, "deletedCount": 1}
    expect_error(await mock.get(f"/executions/{a}", headers=ADMIN), 404, f"Execution {a} not found")
    expect_error(await mock.delete(f"/executions/{a}", headers=ADMIN), 404, f"Execution {a} not found")
    unlinked = [m for m in await messages(mock, flow_id) if m["chatId"] == "s0"]
    assert unlinked and all(m["executionId"] is None and m["execution"] is None for m in unlinked)
    bulk = await mock.request("DELETE", "/executions", json={"executionIds": [b, c, str(uuid.uuid4())]},
                              headers=ADMIN)
    assert bulk.status_code == 200 and bulk.json() == {"success": True, "deletedCount": 2}
    assert (await listing(mock))["total"] == 0
    assert "executionIds" in expect_error(await mock.request("DELETE", "/executions", json={}, headers=ADMIN), 400)


async def test_unknown_ids(mock: httpx.AsyncClient, expect_error: Any) -> None:
    unknown = str(uuid.uuid4())
    for method in ("GET", "PUT"):
        body = {"isPublic": True} if method == "PUT" else None
        expect_error(await mock.request(method, f"/executions/{unknown}", json=body, headers=ADMIN), 404,
                     f"Execution {unknown} not found")
    expect_error(await mock.get(f"/public-executions/{unknown}"), 404, f"Execution {unknown} not found")


async def test_permissions(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW")
    execution_id = await run(mock, flow_id)
    response = await mock.post("/apikey", json={"keyName": "viewer", "permissions": ["executions:view"]},
                               headers=ADMIN)
    key = next(k["apiKey"] for k in response.json() if k["keyName"] == "viewer")
    viewer = {"Authorization": f"Bearer {key}"}
    assert (await mock.get("/executions", headers=viewer)).status_code == 200
    for method, path in (("PUT", f"/executions/{execution_id}"), ("DELETE", f"/executions/{execution_id}")):
        refused = await mock.request(method, path, json={"isPublic": True} if method == "PUT" else None,
                                     headers=viewer)
        assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}
    assert (await mock.get("/executions")).status_code == 401


async def test_quirks_answer_as_flowise(make_client: Callable[..., httpx.AsyncClient], expect_error: Any) -> None:
    quirky = make_client(quirks="flowise-3.1", fast=True)
    unknown = str(uuid.uuid4())
    expect_error(await quirky.get(f"/executions/{unknown}", headers=ADMIN), 500,
                 f"Error: executionsService.getExecutionById - Execution {unknown} not found")
    expect_error(await quirky.get(f"/public-executions/{unknown}"), 500,
                 f"Error: executionsService.getPublicExecutionById - Execution {unknown} not found")
    gone = await quirky.delete(f"/executions/{unknown}", headers=ADMIN)
    assert gone.status_code == 200 and gone.json() == {"success": True, "deletedCount": 0}
    no_ids = await quirky.request("DELETE", "/executions", json={}, headers=ADMIN)
    assert no_ids.status_code == 400 and no_ids.json() == {"success": False, "message": "No execution IDs provided"}
