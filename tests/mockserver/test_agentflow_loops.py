"""AgentflowV2 Loop nodes: jump back and run again up to maxLoopCount, then answer the fallback message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import DIRECT_REPLY, create_flow, events, node

START = DIRECT_REPLY["nodes"][0]
HUMAN = "humanInputAgentflow_0"


def echo_loop(**loop_inputs: Any) -> dict[str, Any]:
    """Start → Direct Reply → Loop back to the Direct Reply."""
    return {
        "nodes": [START,
                  node("directReplyAgentflow_0", "directReplyAgentflow", "Agent Flows", "Echo",
                       directReplyMessage="Echo: {{ question }}"),
                  node("loopAgentflow_0", "loopAgentflow", "Agent Flows", "Again",
                       loopBackToNode="directReplyAgentflow_0-Echo", **loop_inputs)],
        "edges": [{"source": "startAgentflow_0", "target": "directReplyAgentflow_0"},
                  {"source": "directReplyAgentflow_0", "target": "loopAgentflow_0"}],
    }


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def test_a_loop_runs_its_target_again_until_the_limit_then_answers_the_fallback(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, echo_loop(maxLoopCount=3, fallbackMessage="Enough."), "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})).json()
    ran = [n["nodeId"] for n in body["agentFlowExecutedData"]]
    assert ran == ["startAgentflow_0", *(["directReplyAgentflow_0", "loopAgentflow_0"] * 3)]  # 2 jumps, 3 rounds
    loop = body["agentFlowExecutedData"][2]["data"]
    assert loop["input"] == {"nodeID": "directReplyAgentflow_0", "maxLoopCount": 3}
    assert loop["output"] == {"content": "Loop back to Echo (directReplyAgentflow_0)", "nodeID": "directReplyAgentflow_0",
                              "maxLoopCount": 3, "fallbackMessage": "Enough."}
    assert body["text"] == "Enough."
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "streaming": True})).text)
    assert [e["data"] for e in stream if e["event"] == "token"] == ["Enough."]  # the echo has a successor: silent


async def test_without_settings_a_loop_goes_round_five_times(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, echo_loop(), "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})).json()
    assert [n["nodeId"] for n in body["agentFlowExecutedData"]].count("loopAgentflow_0") == 5
    assert body["text"] == "Loop completed after reaching maximum iteration count of 5."


async def test_rejecting_loops_back_to_the_question_which_stops_the_run_again(mock: httpx.AsyncClient) -> None:
    flow = {
        "nodes": [START,
                  node(HUMAN, "humanInputAgentflow", "Agent Flows", "Review", humanInputDescription="Send?"),
                  node("directReplyAgentflow_0", "directReplyAgentflow", "Agent Flows", "Sent", directReplyMessage="Sent."),
                  node("loopAgentflow_0", "loopAgentflow", "Agent Flows", "Retry", loopBackToNode=f"{HUMAN}-Review")],
        "edges": [{"source": "startAgentflow_0", "target": HUMAN},
                  {"source": HUMAN, "sourceHandle": f"{HUMAN}-output-0", "target": "directReplyAgentflow_0"},
                  {"source": HUMAN, "sourceHandle": f"{HUMAN}-output-1", "target": "loopAgentflow_0"}],
    }
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    first = (await mock.post(f"/prediction/{flow_id}", json={"question": "go", "chatId": "l1"})).json()
    reject = {"chatId": "l1", "humanInput": {"type": "reject", "startNodeId": HUMAN}}
    again = (await mock.post(f"/prediction/{flow_id}", json=reject)).json()
    assert again["action"]["id"] != first["action"]["id"] and again["executionId"] == first["executionId"]
    assert [(n["nodeId"], n["status"]) for n in again["agentFlowExecutedData"]][-3:] == [
        (HUMAN, "FINISHED"), ("loopAgentflow_0", "FINISHED"), (HUMAN, "STOPPED")]
    done = await mock.post(f"/prediction/{flow_id}", json={"chatId": "l1",
                                                           "humanInput": {"type": "proceed", "startNodeId": HUMAN}})
    assert done.json()["text"] == "Sent." and "action" not in done.json()


async def test_the_flow_state_starts_at_the_start_node_and_nodes_update_it(mock: httpx.AsyncClient) -> None:
    """`startState` seeds `$flow.state`; a Loop's `loopUpdateState` sets it (`{{ output }}` is what the
    Loop answered); every executed node records the state it left."""
    flow = echo_loop(maxLoopCount=2, loopUpdateState=[{"key": "seen", "value": "{{ output }}"}])
    flow["nodes"][0] = node("startAgentflow_0", "startAgentflow", "Agent Flows", "Start", startInputType="chatInput",
                            startState=[{"key": "topic", "value": "refunds"}, {"key": "seen", "value": ""}])
    flow["nodes"][1]["data"]["inputs"]["directReplyMessage"] = "{{ $flow.state.topic }} / {{ $flow.state.seen }}"
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})).json()
    executed = body["agentFlowExecutedData"]
    replies = [n["data"]["output"]["content"] for n in executed if n["nodeId"] == "directReplyAgentflow_0"]
    assert replies == ["refunds / ", "refunds / Loop back to Echo (directReplyAgentflow_0)"]
    assert executed[0]["data"]["state"] == {"topic": "refunds", "seen": ""}
    assert executed[-1]["data"]["state"]["seen"] == "Loop back to Echo (directReplyAgentflow_0)"
