"""AgentflowV2 Execute Flow nodes: another chatflow answers as a prediction of the same server, as in
Flowise 3.1.4 (checked byte for byte by the reference harness)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import ADMIN, DIRECT_REPLY, create_flow, events, messages, node

START = node("startAgentflow_0", "startAgentflow", "Agent Flows", "Start", startInputType="chatInput",
             startState=[{"key": "answer", "value": ""}])


def caller(called: str, **inputs: Any) -> dict[str, Any]:
    """Start → Execute Flow ("Ask Echo") calling ``called`` with "Relay: {{ question }}"."""
    execute = node("executeFlowAgentflow_0", "executeFlowAgentflow", "Agent Flows", "Ask Echo",
                   executeFlowSelectedFlow=called, executeFlowInput="Relay: {{ question }}", **inputs)
    return {"nodes": [START, execute], "edges": [{"source": "startAgentflow_0", "target": "executeFlowAgentflow_0"}]}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def test_the_called_flow_answers_and_keeps_its_own_messages(mock: httpx.AsyncClient) -> None:
    echo = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW")
    flow_id = await create_flow(mock, caller(echo, executeFlowReturnResponseAs="assistantMessage",
                                             executeFlowUpdateState=[{"key": "answer", "value": "{{ output }}"}]),
                                "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "chatId": "c1"})).json()
    assert body["text"] == "Echo: Relay: hi"
    data = body["agentFlowExecutedData"][1]["data"]
    assert data["input"] == {"messages": [{"role": "user", "content": "Relay: hi"}]}
    assert data["output"] == {"content": "Echo: Relay: hi"} and data["state"] == {"answer": "Echo: Relay: hi"}
    assert data["chatHistory"] == [{"role": "user", "content": "Relay: hi"},
                                   {"role": "assistant", "content": "Echo: Relay: hi", "name": "ask_echo"}]
    called = await messages(mock, echo)
    assert [(m["role"], m["content"], m["chatId"]) for m in called] == [
        ("userMessage", "Relay: hi", "c1"), ("apiMessage", "Echo: Relay: hi", "c1")]
    assert [m["content"] for m in await messages(mock, flow_id)] == ["hi", "Echo: Relay: hi"]
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "streaming": True})).text)
    assert [e["data"] for e in stream if e["event"] == "token"] == ["Echo: Relay: hi"]  # one token, as Flowise


async def test_a_missing_flows_error_body_becomes_the_answer(mock: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-00000000dead"
    flow_id = await create_flow(mock, caller(missing), "AGENTFLOW")
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})
    assert response.status_code == 200
    assert json.loads(response.json()["text"]) == {
        "statusCode": 404, "success": False, "message": f"Chatflow {missing} not found in the database!", "stack": {}}
    said = response.json()["agentFlowExecutedData"][1]["data"]["chatHistory"][-1]
    assert said["role"] == "user"  # executeFlowReturnResponseAs defaults to a user message


async def test_a_flow_calling_itself_fails_at_the_node(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, caller("placeholder"), "AGENTFLOW")
    update = {"flowData": json.dumps(caller(flow_id))}
    assert (await mock.put(f"/chatflows/{flow_id}", json=update, headers=ADMIN)).status_code == 200
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "chatId": "c2"})
    assert response.status_code == 500
    assert response.json()["message"] == ("Error: predictionsServices.buildChatflow - "
                                          "Error: Cannot call the same agentflow!")
    assert await messages(mock, flow_id) == []  # a failed run stores no message
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "streaming": True})).text)
    assert [e["event"] for e in stream][-5:] == ["nextAgentFlow", "agentFlowExecutedData", "agentFlowEvent", "error",
                                                 "end"]
    failed = stream[-4]["data"][-1]
    assert failed["status"] == "ERROR" and list(failed) == ["nodeId", "nodeLabel", "previousNodeIds", "data", "status"]
    assert failed["data"] == {"id": "executeFlowAgentflow_0", "name": "executeFlowAgentflow",
                              "error": "Error: Cannot call the same agentflow!"}
    assert stream[-3]["data"] == "ERROR"


async def test_flows_calling_each_other_stop_at_a_depth_limit(mock: httpx.AsyncClient) -> None:
    first = await create_flow(mock, caller("placeholder"), "AGENTFLOW")
    second = await create_flow(mock, caller(first), "AGENTFLOW")
    await mock.put(f"/chatflows/{first}", json={"flowData": json.dumps(caller(second))}, headers=ADMIN)
    response = await mock.post(f"/prediction/{first}", json={"question": "hi"})
    assert response.status_code == 200
    assert "nested more than 10 deep" in response.json()["text"]
