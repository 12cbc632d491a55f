"""AgentflowV2 joins and the Start node's session options, as Flowise 3.1.4 runs them: a node several edges
lead to waits for all of them (one per decision for branches behind a Condition); ``startPersistState``
carries the flow state across a session's runs; ``startEphemeralMemory`` leaves the stored conversation out."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import DIRECT_REPLY, LLM_AGENTFLOW, create_flow, node

START = DIRECT_REPLY["nodes"][0]


def passes(node_id: str, label: str) -> dict[str, Any]:
    """A Condition that always holds: a way-station with one live output."""
    return node(node_id, "conditionAgentflow", "Agent Flows", label,
                conditions=[{"type": "string", "value1": "{{ question }}", "operation": "notEmpty", "value2": ""}])


def edge(source: str, target: str, output: int | None = None) -> dict[str, Any]:
    handle = {"sourceHandle": f"{source}-output-{output}"} if output is not None else {}
    return {"source": source, "target": target, **handle}


def reply(node_id: str, message: str) -> dict[str, Any]:
    return node(node_id, "directReplyAgentflow", "Agent Flows", node_id, directReplyMessage=message)


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def test_a_join_waits_for_its_longer_branch(mock: httpx.AsyncClient) -> None:
    """Start → Left → Joined and Start → Right → Deeper → Joined: Joined runs last, once Deeper has run."""
    flow = {"nodes": [START, passes("left", "Left"), passes("right", "Right"), passes("deeper", "Deeper"),
                      reply("joined", "Joined: {{ question }}")],
            "edges": [edge("startAgentflow_0", "left"), edge("startAgentflow_0", "right"), edge("left", "joined", 0),
                      edge("right", "deeper", 0), edge("deeper", "joined", 0)]}
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})).json()
    executed = body["agentFlowExecutedData"]
    assert [n["nodeId"] for n in executed] == ["startAgentflow_0", "left", "right", "deeper", "joined"]
    assert executed[-1]["previousNodeIds"] == ["left", "deeper"]
    assert body["text"] == "Joined: hi"


def llm(node_id: str) -> dict[str, Any]:
    """An LLM node: a way-station that is not a decision."""
    return node(node_id, "llmAgentflow", "Agent Flows", node_id.upper(), llmMessages=[])


ROUTE = node("route", "conditionAgentflow", "Agent Flows", "Route",
             conditions=[{"type": "string", "value1": "{{ question }}", "operation": "contains", "value2": "left"}])


async def test_a_join_needs_every_plain_input_but_one_branch_of_a_decision(mock: httpx.AsyncClient) -> None:
    """Joined hears from Tail (a plain way from Start) and from both branches of a Condition; the branch not
    taken never delivers, and the one taken is enough. Its ``previousNodeIds`` lists every input, run or not."""
    flow = {"nodes": [START, ROUTE, llm("a"), llm("b"), llm("tail"), reply("joined", "Joined")],
            "edges": [edge("startAgentflow_0", "route"), edge("startAgentflow_0", "tail"),
                      edge("route", "a", 0), edge("route", "b", 1), edge("a", "joined"), edge("b", "joined"),
                      edge("tail", "joined")]}
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    for question, branch in (("go left", "a"), ("go right", "b")):
        body = (await mock.post(f"/prediction/{flow_id}", json={"question": question})).json()
        ran = [n["nodeId"] for n in body["agentFlowExecutedData"]]
        assert ran == ["startAgentflow_0", "route", "tail", branch, "joined"], question
        assert body["agentFlowExecutedData"][-1]["previousNodeIds"] == ["a", "b", "tail"]


async def test_a_join_whose_branch_is_not_taken_does_not_run(mock: httpx.AsyncClient) -> None:
    """Joined waits for Start and for B2, behind the Condition's right branch (Route → B → B2); when the
    left one is taken B2 never delivers, so Joined never runs and the run ends at A."""
    flow = {"nodes": [START, ROUTE, llm("a"), llm("b"), llm("b2"), reply("joined", "Joined")],
            "edges": [edge("startAgentflow_0", "route"), edge("route", "a", 0), edge("route", "b", 1),
                      edge("b", "b2"), edge("b2", "joined"), edge("startAgentflow_0", "joined")]}
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "go left"})).json()
    assert [n["nodeId"] for n in body["agentFlowExecutedData"]] == ["startAgentflow_0", "route", "a"]
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "go right"})).json()
    assert [n["nodeId"] for n in body["agentFlowExecutedData"]][-3:] == ["b", "b2", "joined"]


def state_flow(**start_inputs: Any) -> dict[str, Any]:
    """Start (seen = "") → Echo of the state → Loop once, setting seen to what the Loop answered."""
    start = node("startAgentflow_0", "startAgentflow", "Agent Flows", "Start", startInputType="chatInput",
                 startState=[{"key": "seen", "value": ""}], **start_inputs)
    echo = reply("echo", "seen: {{ $flow.state.seen }}")
    echo["data"]["label"] = "Echo"
    loop = node("loop", "loopAgentflow", "Agent Flows", "Again", loopBackToNode="echo-Echo", maxLoopCount=2,
                fallbackMessage="Done.", loopUpdateState=[{"key": "seen", "value": "{{ output }}"}])
    return {"nodes": [start, echo, loop], "edges": [edge("startAgentflow_0", "echo"), edge("echo", "loop")]}


async def test_a_persisted_state_carries_over_to_the_sessions_next_run(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, state_flow(startPersistState=True), "AGENTFLOW")
    first = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "chatId": "s1"})).json()
    assert first["agentFlowExecutedData"][0]["data"]["output"] == {"question": "hi", "persistState": True}
    assert first["agentFlowExecutedData"][1]["data"]["output"]["content"] == "seen: "
    second = (await mock.post(f"/prediction/{flow_id}", json={"question": "again", "chatId": "s1"})).json()
    assert second["agentFlowExecutedData"][0]["data"]["state"] == {"seen": "Loop back to Echo (echo)"}
    assert second["agentFlowExecutedData"][1]["data"]["output"]["content"] == "seen: Loop back to Echo (echo)"
    other = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "chatId": "s2"})).json()
    assert other["agentFlowExecutedData"][1]["data"]["output"]["content"] == "seen: "  # another session starts fresh


async def test_without_persist_state_every_run_starts_from_start_state(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, state_flow(), "AGENTFLOW")
    for question in ("hi", "again"):
        body = (await mock.post(f"/prediction/{flow_id}", json={"question": question, "chatId": "s1"})).json()
        assert body["agentFlowExecutedData"][1]["data"]["output"]["content"] == "seen: "
        assert body["agentFlowExecutedData"][0]["data"]["output"] == {"question": question}


async def test_ephemeral_memory_leaves_the_stored_conversation_out(mock: httpx.AsyncClient) -> None:
    ephemeral = copy.deepcopy(LLM_AGENTFLOW)
    ephemeral["nodes"][0]["data"]["inputs"]["startEphemeralMemory"] = True
    for flow, remembers in ((LLM_AGENTFLOW, True), (ephemeral, False)):
        flow_id = await create_flow(mock, flow, "AGENTFLOW")
        await mock.post(f"/prediction/{flow_id}", json={"question": "My name is Ada.", "chatId": "m1"})
        body = (await mock.post(f"/prediction/{flow_id}", json={"question": "Who am I?", "chatId": "m1"})).json()
        start, llm = body["agentFlowExecutedData"][0]["data"], body["agentFlowExecutedData"][1]["data"]
        sent = [m["content"] for m in llm["input"]["messages"]]
        assert ("My name is Ada." in sent) is remembers, sent
        assert ("ephemeralMemory" in start["output"]) is not remembers
