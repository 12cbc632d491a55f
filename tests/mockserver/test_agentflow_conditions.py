"""AgentflowV2 Condition nodes: the first condition that holds picks the branch, else the Else; nothing else runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import DIRECT_REPLY, create_flow, events, node

START = DIRECT_REPLY["nodes"][0]
CONDITION = "conditionAgentflow_0"


def branching_flow(*conditions: dict[str, Any]) -> dict[str, Any]:
    """Start → Condition → one Direct Reply per condition ("branch <i>") and one for the Else."""
    replies = [node(f"directReplyAgentflow_{i}", "directReplyAgentflow", "Agent Flows", f"Reply {i}",
                    directReplyMessage=f"branch {i}" if i < len(conditions) else "else")
               for i in range(len(conditions) + 1)]
    return {
        "nodes": [START, node(CONDITION, "conditionAgentflow", "Agent Flows", "Route", conditions=list(conditions)),
                  *replies],
        "edges": [{"source": "startAgentflow_0", "target": CONDITION},
                  *({"source": CONDITION, "sourceHandle": f"{CONDITION}-output-{i}", "target": r["id"]}
                    for i, r in enumerate(replies))],
    }


def cond(kind: str, value1: Any, operation: str, value2: Any = "") -> dict[str, Any]:
    return {"type": kind, "value1": value1, "operation": operation, "value2": value2}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


@pytest.mark.parametrize(("conditions", "question", "answer"), [
    ((cond("string", "{{ question }}", "contains", "refund"),), "I want a refund", "branch 0"),
    ((cond("string", "{{ question }}", "contains", "refund"),), "hello", "else"),
    ((cond("string", "{{ question }}", "equal", "a"), cond("string", "{{ question }}", "startsWith", "b")),
     "banana", "branch 1"),
    ((cond("number", "{{ question }}", "larger", "10"),), "42 apples", "branch 0"),  # parseFloat reads "42"
    ((cond("number", "{{ question }}", "larger", "10"),), "apples", "else"),  # no number: 0
    ((cond("string", "{{ question }}", "regex", "^ord(er)?-\\d+$"),), "order-17", "branch 0"),
    ((cond("string", "{{ question }}", "isEmpty"), cond("string", "{{ question }}", "notEmpty")), "x", "branch 1"),
    ((cond("boolean", True, "equal", True),), "x", "branch 0"),
    ((cond("string", "{{ question }}", "noSuchOperation", "x"),), "x", "else"),
])
async def test_the_first_condition_that_holds_picks_the_branch(mock: httpx.AsyncClient, conditions: tuple[dict, ...],
                                                              question: str, answer: str) -> None:
    flow_id = await create_flow(mock, branching_flow(*conditions), "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": question})).json()
    assert body["text"] == answer
    ran = [n["nodeId"] for n in body["agentFlowExecutedData"]]
    assert ran[:2] == ["startAgentflow_0", CONDITION] and len(ran) == 3  # exactly one branch ran


async def test_the_condition_node_reports_its_decision_as_flowise_does(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, branching_flow(cond("string", "{{ question }}", "equal", "no"),
                                                     cond("string", "{{ question }}", "equal", "yes")), "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "yes"})).json()
    data = body["agentFlowExecutedData"][1]["data"]
    assert data["input"] == {"conditions": {"0": cond("string", "yes", "equal", "no"),
                                            "1": cond("string", "yes", "equal", "yes")}}
    assert data["output"] == {"conditions": [
        cond("string", "yes", "equal", "no"),
        {**cond("string", "yes", "equal", "yes"), "isFulfilled": True},
        {**cond("string", "", "equal", ""), "isFulfilled": False},
    ]}
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "no", "streaming": True})).text)
    assert [e["data"] for e in stream if e["event"] == "token"] == ["branch 0"]  # only the branch's leaf streams
    labels = [e["data"]["nodeLabel"] for e in stream if e["event"] == "nextAgentFlow"]
    assert "Reply 1" not in labels and "Reply 2" not in labels


async def test_values_saved_as_editor_html_are_read_as_text(mock: httpx.AsyncClient) -> None:
    """The flow editor saves `<p>...</p>` with variable mentions; Flowise turns it into Markdown text first."""
    mention = '<span class="variable" data-type="mention" data-id="question">{{ question }}</span>'
    flow = branching_flow(cond("string", f"<p>{mention} </p>", "contains", "<p>refund</p>"))
    flow["nodes"][2]["data"]["inputs"]["directReplyMessage"] = f"<p>Refunds: {mention}</p><p>Thanks.</p>"
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "a refund please"})).json()
    assert body["text"] == "Refunds: a refund please\n\nThanks."
    assert body["agentFlowExecutedData"][1]["data"]["input"]["conditions"]["0"]["value2"] == "refund"


async def test_a_sticky_note_on_the_canvas_is_not_run(mock: httpx.AsyncClient) -> None:
    """The editor's comments are nodes without edges; Flowise leaves them out of the run."""
    flow = branching_flow(cond("string", "{{ question }}", "contains", "refund"))
    flow["nodes"].append(node("stickyNoteAgentflow_0", "stickyNoteAgentflow", "Agent Flows", "Sticky Note",
                              note="Refunds go left."))
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "refund"})).json()
    assert body["text"] == "branch 0"
    assert "stickyNoteAgentflow_0" not in [n["nodeId"] for n in body["agentFlowExecutedData"]]
