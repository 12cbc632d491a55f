"""AgentflowV2 control flow: a Condition runs one branch only; a Loop goes back, then answers its fallback.

Both flows are provisioned by the run and need no LLM: Start → Condition ("question contains refund",
written as the flow editor saves it, in HTML) → one Direct Reply per branch; and Start → Direct Reply →
Loop back to it at most 3 times, falling back to "Enough.". A reimplementation that runs every branch, or
that loops forever or not at all, answers differently from Flowise here.
"""

from __future__ import annotations

import pytest

from conformance.fixtures import flow_data
from conformance.semantics.support import create, predict
from conformance.violations import expect

pytestmark = pytest.mark.flowise(
    area="prediction", tags=("prediction", "chatflows"), operation="createPrediction", writes=True,
    requires=("answering",),
)


def provision(client, ledger, unique, name: str) -> str:
    body = {"name": unique(name), "flowData": flow_data(f"agentflow_{name}"), "type": "AGENTFLOW"}
    return str(create(client, ledger, "chatflow", body, operation="createChatflow")["id"])


@pytest.mark.parametrize(("question", "answer", "reply"), [
    ("I want a refund", "Refunds: I want a refund", "directReplyAgentflow_0"),
    ("hello", "Other: hello", "directReplyAgentflow_1"),
])
def test_a_condition_runs_the_branch_it_chose_and_no_other(
    flowise_client, flowise_ledger, flowise_unique, question: str, answer: str, reply: str
) -> None:
    """The first condition that holds (else the Else) picks the only branch that runs."""
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "condition")
    response, data = predict(flowise_client, flow, {"question": question})
    ran = [entry.get("nodeId") for entry in data.get("agentFlowExecutedData") or []]
    expect(
        data.get("text") == answer and ran == ["startAgentflow_0", "conditionAgentflow_0", reply],
        check="condition_runs_one_branch",
        message=f"text {data.get('text')!r} after running {ran}; expected {answer!r} from {reply} alone",
        exchange=flowise_client.exchange_of(response),
    )


def test_a_loop_goes_back_up_to_its_limit_then_answers_its_fallback(
    flowise_client, flowise_ledger, flowise_unique
) -> None:
    """maxLoopCount 3: three rounds of the looped node, then the fallback message is the answer."""
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "loop")
    response, data = predict(flowise_client, flow, {"question": "hi"})
    ran = [entry.get("nodeId") for entry in data.get("agentFlowExecutedData") or []]
    expect(
        data.get("text") == "Enough." and ran == ["startAgentflow_0", *["directReplyAgentflow_0", "loopAgentflow_0"] * 3],
        check="loop_stops_at_its_limit",
        message=f"text {data.get('text')!r} after running {ran}",
        exchange=flowise_client.exchange_of(response),
    )
