"""AgentflowV2 Iteration nodes: the nodes inside run once per item, as in Flowise 3.1.4 (the reference
harness compares this flow byte for byte)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from test_prediction import create_flow, events

FLOW = json.loads((Path(__file__).resolve().parents[2] / "conformance/data/agentflow_iteration.flowData.json")
                  .read_text())
ITERATION = "iterationAgentflow_0"


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def test_the_block_runs_per_item_and_a_failed_item_answers_its_error(mock: httpx.AsyncClient) -> None:
    """Items apple, pear, plum: the function inside adds each item to the state and throws on pear."""
    flow_id = await create_flow(mock, FLOW, "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})).json()
    executed = body["agentFlowExecutedData"]
    # the runs inside come before the Iteration's own entry; the failed run leaves no entry
    assert [(e["nodeId"], e["data"].get("iterationIndex")) for e in executed] == [
        ("startAgentflow_0", None), ("customFunctionAgentflow_0", 0), ("directReplyAgentflow_0", 0),
        ("customFunctionAgentflow_0", 2), ("directReplyAgentflow_0", 2), (ITERATION, None),
        ("directReplyAgentflow_1", None)]
    iteration = executed[5]["data"]
    assert iteration["input"] == {"iterationInput": [{"name": "apple"}, {"name": "pear"}, {"name": "plum"}]}
    assert iteration["output"]["iterationResults"] == [
        'Item apple of {"name":"apple"} after start+apple',
        "Error in iteration 2: Error: NodeVM Execution Error: Error: no pears",
        'Item plum of {"name":"plum"} after start+apple+plum']
    assert iteration["state"] == {"seen": "start+apple+plum"}
    inner = executed[3]["data"]
    assert inner["iterationContext"] == {"index": 2, "value": {"name": "plum"}, "isFirst": False, "isLast": True,
                                         "sessionId": body["sessionId"]}
    assert inner["parentNodeId"] == ITERATION and executed[3]["previousNodeIds"] == []
    assert body["text"] == f"Done: {iteration['output']['content']} | start+apple+plum"


async def test_the_stream_reports_the_inner_nodes_but_not_their_executed_data(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, FLOW, "AGENTFLOW")
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "streaming": True})).text)
    progress = [(e["data"]["nodeId"], e["data"]["status"]) for e in stream if e["event"] == "nextAgentFlow"]
    inner = [("customFunctionAgentflow_0", "INPROGRESS"), ("customFunctionAgentflow_0", "FINISHED"),
             ("directReplyAgentflow_0", "INPROGRESS"), ("directReplyAgentflow_0", "FINISHED")]
    assert progress[2:] == [(ITERATION, "INPROGRESS"), *inner, ("customFunctionAgentflow_0", "INPROGRESS"),
                            ("customFunctionAgentflow_0", "ERROR"), *inner, (ITERATION, "FINISHED"),
                            ("directReplyAgentflow_1", "INPROGRESS"), ("directReplyAgentflow_1", "FINISHED")]
    assert [e["event"] for e in stream].count("agentFlowExecutedData") == 3  # Start, Iteration, Done
    assert [e["data"] for e in stream if e["event"] == "token"][0].startswith("Done: Item apple")


async def test_an_input_that_is_not_an_array_fails_the_node(mock: httpx.AsyncClient) -> None:
    flow = json.loads(json.dumps(FLOW))
    flow["nodes"][1]["data"]["inputs"]["iterationInput"] = '{"name": "apple"}'
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})
    assert response.status_code == 500 and response.json()["message"].endswith(" - Invalid input array")


async def test_an_iteration_inside_itself_stops_at_a_depth_limit(mock: httpx.AsyncClient) -> None:
    """Flowise would recurse without end; here the innermost run fails, and as with any failed item its error
    is the answer of the run around it."""
    flow = {"nodes": [FLOW["nodes"][0], {"id": ITERATION, "parentNode": ITERATION, "extent": "parent",
                                         "data": {"id": ITERATION, "name": "iterationAgentflow", "label": "Each",
                                                  "inputs": {"iterationInput": "[1, 2]"}}}],
            "edges": [{"source": "startAgentflow_0", "target": ITERATION}]}
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})
    assert response.status_code == 200
    assert response.json()["text"].startswith("Error in iteration 1: Iteration nodes nested more than 5 deep")
