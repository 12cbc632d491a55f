"""AgentflowV2 human in the loop: a run stops at a Human Input node and a ``humanInput`` request resumes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import DIRECT_REPLY, create_flow, events, messages, node

START = DIRECT_REPLY["nodes"][0]
HUMAN = "humanInputAgentflow_0"
APPROVAL_FLOW = {
    "nodes": [
        START,
        node("llmAgentflow_0", "llmAgentflow", "Agent Flows", "Draft", llmMessages=[]),
        node(HUMAN, "humanInputAgentflow", "Agent Flows", "Review", humanInputDescriptionType="fixed",
             humanInputDescription="<p>Send this draft?</p>", humanInputEnableFeedback=True),
        node("directReplyAgentflow_0", "directReplyAgentflow", "Agent Flows", "Sent",
             directReplyMessage="Sent. ({{ question }})"),
        node("directReplyAgentflow_1", "directReplyAgentflow", "Agent Flows", "Dropped",
             directReplyMessage="Dropped."),
    ],
    "edges": [
        {"source": "startAgentflow_0", "target": "llmAgentflow_0"},
        {"source": "llmAgentflow_0", "target": HUMAN},
        {"source": HUMAN, "sourceHandle": f"{HUMAN}-output-0", "target": "directReplyAgentflow_0"},
        {"source": HUMAN, "sourceHandle": f"{HUMAN}-output-1", "target": "directReplyAgentflow_1"},
    ],
}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def ask(client: httpx.AsyncClient, flow_id: str, **body: Any) -> httpx.Response:
    return await client.post(f"/prediction/{flow_id}", json=body)


async def test_a_run_stops_at_the_human_input_node_with_an_action(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW")
    body = (await ask(mock, flow_id, question="Draft a reply to Ada", chatId="c1")).json()
    assert list(body) == ["text", "question", "chatId", "chatMessageId", "executionId", "agentFlowExecutedData",
                          "action", "sessionId"]
    draft = body["agentFlowExecutedData"][1]["data"]["output"]["content"]
    assert body["text"] == f"{draft}\n\nSend this draft?"  # the editor's HTML read as Flowise reads it
    assert [(n["nodeId"], n["status"]) for n in body["agentFlowExecutedData"]] == [
        ("startAgentflow_0", "FINISHED"), ("llmAgentflow_0", "FINISHED"), (HUMAN, "STOPPED")]
    action = body["action"]
    assert action["mapping"] == {"approve": "Proceed", "reject": "Reject"}
    assert [e["type"] for e in action["elements"]] == ["agentflowv2-approve-button", "agentflowv2-reject-button"]
    assert action["data"]["nodeId"] == HUMAN and action["data"]["input"]["humanInputEnableFeedback"] is True
    assert body["agentFlowExecutedData"][2]["data"]["output"]["humanInputAction"] == action
    stored = await messages(mock, flow_id)
    assert stored[-1]["action"] == action and stored[-1]["execution"]["state"] == "STOPPED"


async def test_proceed_resumes_the_same_execution_along_the_proceed_edge(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW")
    stopped = (await ask(mock, flow_id, question="Draft a reply", chatId="c2")).json()
    resumed = await ask(mock, flow_id, question="looks good", chatId="c2",
                        humanInput={"type": "proceed", "startNodeId": HUMAN, "feedback": "looks good"})
    assert resumed.status_code == 200, resumed.text
    body = resumed.json()
    assert "action" not in body and body["executionId"] == stopped["executionId"]
    assert body["text"] == "Sent. (looks good)"
    executed = body["agentFlowExecutedData"]
    assert [(n["nodeId"], n["status"]) for n in executed] == [
        ("startAgentflow_0", "FINISHED"), ("llmAgentflow_0", "FINISHED"), (HUMAN, "FINISHED"),
        ("directReplyAgentflow_0", "FINISHED")]
    assert executed[2]["data"]["output"]["conditions"] == [
        {"type": "proceed", "startNodeId": HUMAN, "feedback": "looks good", "isFulfilled": True},
        {"type": "reject", "startNodeId": HUMAN, "feedback": "looks good", "isFulfilled": False}]
    stored = await messages(mock, flow_id)
    assert [m["role"] for m in stored] == ["userMessage", "apiMessage", "userMessage", "apiMessage"]
    assert stored[1]["action"] is None  # answered: the buttons are gone
    assert stored[-1]["content"] == "Sent. (looks good)" and stored[-1]["execution"]["state"] == "FINISHED"
    assert stored[-1]["execution"]["stoppedDate"] is not None  # the date it stopped at stays, as in Flowise
    assert list(stored[-1]["execution"]) == ["id", "executionData", "state", "agentflowId", "sessionId", "action",
                                              "isPublic", "createdDate", "updatedDate", "stoppedDate", "workspaceId"]


async def test_reject_follows_the_reject_edge_and_a_second_resume_is_refused(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW")
    await ask(mock, flow_id, question="Draft a reply", chatId="c3")
    body = (await ask(mock, flow_id, chatId="c3", humanInput={"type": "reject", "startNodeId": HUMAN})).json()
    assert body["text"] == "Dropped." and "question" not in body
    assert body["agentFlowExecutedData"][-1]["nodeId"] == "directReplyAgentflow_1"
    again = await ask(mock, flow_id, chatId="c3", humanInput={"type": "proceed", "startNodeId": HUMAN})
    assert again.status_code == 409
    assert "because it is in 'FINISHED' state" in again.json()["message"]


@pytest.mark.parametrize(("chat_id", "start", "status", "message"), [
    ("never-ran", HUMAN, 404, "No previous execution found for session never-ran"),
    ("c4", "llmAgentflow_9", 400, "Node llmAgentflow_9 not found in previous execution"),
    ("c4", "llmAgentflow_0", 400, "Node llmAgentflow_0 is not waiting for human input"),
])
async def test_a_resume_that_cannot_apply_is_a_client_error(mock: httpx.AsyncClient, chat_id: str, start: str,
                                                            status: int, message: str) -> None:
    flow_id = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW")
    await ask(mock, flow_id, question="Draft a reply", chatId="c4")
    response = await ask(mock, flow_id, chatId=chat_id, humanInput={"type": "proceed", "startNodeId": start})
    assert response.status_code == status and response.json()["message"].startswith(message)
    assert (await messages(mock, flow_id))[-1]["execution"]["state"] == "STOPPED"  # nothing was run or stored


async def test_streams_stop_with_the_action_before_metadata(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW")
    stream = events((await ask(mock, flow_id, question="Draft", chatId="c5", streaming=True)).text)
    names = [e["event"] for e in stream]
    assert names[-9:] == ["nextAgentFlow", "token", "nextAgentFlow", "agentFlowExecutedData", "agentFlowEvent",
                          "action", "agentFlowEvent", "metadata", "end"]
    assert stream[-8]["data"].endswith("\n\nSend this draft?")  # the whole question, as one token
    assert stream[-7]["data"] == {"nodeId": HUMAN, "nodeLabel": "Review", "status": "STOPPED"}
    assert stream[-5]["data"] == stream[-3]["data"] == "STOPPED"
    assert stream[-2]["data"]["action"] == stream[-4]["data"]
    resumed = events((await ask(mock, flow_id, chatId="c5", streaming=True,
                                humanInput={"type": "proceed", "startNodeId": HUMAN})).text)
    assert "action" not in [e["event"] for e in resumed]
    assert [e["data"] for e in resumed if e["event"] == "token"] == ["Sent. ()"]  # no question was sent
    assert resumed[-3] == {"event": "agentFlowEvent", "data": "FINISHED"}


async def test_under_quirks_a_failed_resume_is_flowise_500(make_client: Callable[..., httpx.AsyncClient]) -> None:
    client = make_client(fast=True, quirks="flowise-3.1")
    flow_id = await create_flow(client, APPROVAL_FLOW, "AGENTFLOW")
    answer = await ask(client, flow_id, chatId="nobody", humanInput={"type": "proceed", "startNodeId": HUMAN})
    assert answer.status_code == 500
    assert answer.json()["message"] == ("Error: predictionsServices.buildChatflow - "
                                        "No previous execution found for session nobody")
    stream = events((await ask(client, flow_id, chatId="nobody", streaming=True,
                               humanInput={"type": "proceed", "startNodeId": HUMAN})).text)
    assert [e["event"] for e in stream] == ["error", "end"]


async def test_without_a_description_the_node_asks_the_default_question(mock: httpx.AsyncClient) -> None:
    flow = {"nodes": [START, node(HUMAN, "humanInputAgentflow", "Agent Flows", "Check")],
            "edges": [{"source": "startAgentflow_0", "target": HUMAN}]}
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    body = (await ask(mock, flow_id, question="go", chatId="c6")).json()
    assert body["text"] == "\n\nDo you want to proceed?"  # no message before it: an empty one, as in Flowise
    resumed = (await ask(mock, flow_id, chatId="c6", humanInput={"type": "reject", "startNodeId": HUMAN})).json()
    assert resumed["text"] == "reject"  # the node is the last one: its content is the decision
    assert resumed["agentFlowExecutedData"][-1]["data"]["output"]["conditions"][1]["isFulfilled"] is True


async def test_without_start_node_id_the_last_stopped_node_is_resumed(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW")
    await ask(mock, flow_id, question="Draft", chatId="auto")
    body = (await ask(mock, flow_id, chatId="auto", humanInput={"type": "proceed"})).json()
    assert body["text"] == "Sent. ()"
    resumed = next(n for n in body["agentFlowExecutedData"] if n["nodeId"] == HUMAN)["data"]["input"]
    assert {k: resumed[k] for k in ("type", "startNodeId")} == {"type": "proceed", "startNodeId": HUMAN}


async def test_an_execution_that_failed_right_after_its_stop_is_retried_from_the_stop(
    mock: httpx.AsyncClient,
) -> None:
    """Flowise drops a last ERROR entry that follows a STOPPED one and resumes; other failed runs answer 409."""
    flow_id = await create_flow(mock, APPROVAL_FLOW, "AGENTFLOW")
    stopped = (await ask(mock, flow_id, question="Draft", chatId="retry")).json()
    db = mock._transport.app.state.mock.db  # type: ignore[attr-defined]
    failure = {"nodeId": "directReplyAgentflow_0", "nodeLabel": "Sent", "previousNodeIds": [HUMAN],
               "data": {"id": "directReplyAgentflow_0", "name": "directReplyAgentflow", "error": "Error: boom"},
               "status": "ERROR"}
    failed = json.dumps([*stopped["agentFlowExecutedData"], failure])
    db.update("execution", stopped["executionId"], {"state": "ERROR", "executionData": failed})
    body = (await ask(mock, flow_id, chatId="retry", humanInput={"type": "proceed", "startNodeId": HUMAN})).json()
    assert body["executionId"] == stopped["executionId"] and body["text"] == "Sent. ()"
    assert [n["status"] for n in body["agentFlowExecutedData"]].count("ERROR") == 0
    db.update("execution", stopped["executionId"], {"state": "ERROR", "executionData": json.dumps([failure])})
    refused = await ask(mock, flow_id, chatId="retry", humanInput={"type": "proceed", "startNodeId": HUMAN})
    assert refused.status_code == 409 and "insufficient execution data" in refused.json()["message"]
