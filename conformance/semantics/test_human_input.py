"""AgentflowV2 human in the loop: a run stops at a Human Input node; `humanInput` resumes it.

A chat UI renders the answer's `action` as Proceed / Reject buttons and sends the choice back with the
same `chatId` as `humanInput: {type, startNodeId: action.data.nodeId, feedback}`. The run must then go
on in the same execution along the chosen edge, and an execution that has finished cannot be resumed
again (Flowise answers that with a 500, deviation `client-error-500`). The flow is provisioned by the
run (Start → Human Input → Direct Reply per branch), so no LLM is involved.
"""

from __future__ import annotations

import pytest

from conformance.checks import sse
from conformance.fixtures import flow_data
from conformance.semantics.support import (
    create,
    expect_error_shape,
    expect_status,
    new_chat_id,
    predict,
    stream_prediction,
)
from conformance.violations import expect

pytestmark = pytest.mark.flowise(
    area="prediction", tags=("prediction", "chatflows"), operation="createPrediction", writes=True,
    requires=("answering",),
)

HUMAN_NODE = "humanInputAgentflow_0"
BUTTONS = ["agentflowv2-approve-button", "agentflowv2-reject-button"]


@pytest.fixture
def approval_flow(flowise_client, flowise_ledger, flowise_unique) -> str:
    chatflow = create(
        flowise_client,
        flowise_ledger,
        "chatflow",
        {"name": flowise_unique("human-input"), "flowData": flow_data("agentflow_human_input"), "type": "AGENTFLOW"},
        operation="createChatflow",
    )
    return str(chatflow["id"])


def test_a_run_stops_with_an_action_and_resumes_on_the_chosen_edge(
    flowise_client, flowise_ledger, approval_flow
) -> None:
    """Stop: `action` with Proceed / Reject naming the node, the node STOPPED. Resume: same execution,
    the proceed branch's answer, no action; a second resume of the finished run is refused."""
    client = flowise_client
    chat_id = new_chat_id(flowise_ledger)
    response, stopped = predict(client, approval_flow, {"question": "send it?", "chatId": chat_id})
    exchange = client.exchange_of(response)
    action = stopped.get("action") if isinstance(stopped.get("action"), dict) else {}
    expect(
        [e.get("type") for e in action.get("elements", []) if isinstance(e, dict)] == BUTTONS
        and (action.get("data") or {}).get("nodeId") == HUMAN_NODE,
        check="human_input_stop_has_action",
        message=f"action is {stopped.get('action')!r}",
        exchange=exchange,
    )
    executed = stopped.get("agentFlowExecutedData") or [{}]
    expect(
        executed[-1].get("nodeId") == HUMAN_NODE and executed[-1].get("status") == "STOPPED",
        check="human_input_node_is_stopped",
        message=f"last executed node: {executed[-1].get('nodeId')!r} {executed[-1].get('status')!r}",
        exchange=exchange,
    )
    resume = {"chatId": chat_id, "humanInput": {"type": "proceed", "startNodeId": HUMAN_NODE, "feedback": "yes"}}
    response, resumed = predict(client, approval_flow, {"question": "yes", **resume}, check="human_input_resumes")
    exchange = client.exchange_of(response)
    expect(
        resumed.get("executionId") == stopped.get("executionId") and "action" not in resumed,
        check="human_input_resumes_the_same_execution",
        message=f"executionId {stopped.get('executionId')!r} then {resumed.get('executionId')!r}; "
                f"action {resumed.get('action')!r}",
        exchange=exchange,
    )
    expect(
        resumed.get("text") == "Sent: yes",
        check="human_input_follows_the_chosen_edge",
        message=f"after proceed the text is {resumed.get('text')!r}, the proceed branch answers 'Sent: yes'",
        exchange=exchange,
    )
    again = client.post(f"/prediction/{approval_flow}", json=resume)
    expect_status(client, again, 409, check="finished_run_is_not_resumed", operation="createPrediction")
    expect_error_shape(client, again, check="finished_run_is_not_resumed", operation="createPrediction")


def test_a_resume_with_nothing_to_resume_is_refused(flowise_client, flowise_ledger, approval_flow) -> None:
    """A `humanInput` for a conversation with no execution is a 404 with Flowise's error body."""
    chat_id = new_chat_id(flowise_ledger)
    response = flowise_client.post(
        f"/prediction/{approval_flow}",
        json={"chatId": chat_id, "humanInput": {"type": "proceed", "startNodeId": HUMAN_NODE}},
    )
    expect_status(flowise_client, response, 404, check="resume_without_execution_is_refused", operation="createPrediction")
    expect_error_shape(flowise_client, response, check="resume_without_execution_is_refused", operation="createPrediction")


def test_a_stream_stops_with_the_action_before_metadata(flowise_caps, flowise_client, flowise_ledger,
                                                      approval_flow) -> None:
    """Streaming, the stop is `nextAgentFlow` STOPPED, `agentFlowEvent` STOPPED and the `action` event, then
    `metadata` (whose `action` is the same) and `end`: a chat UI draws the buttons from them."""
    missing = flowise_caps.why_not("streaming")
    if missing:
        pytest.skip(missing)
    stream = stream_prediction(flowise_client, approval_flow, {"question": "send it?",
                                                               "chatId": new_chat_id(flowise_ledger)})
    events = sse.parse_stream(stream.body).events
    names = [event.get("event") for event in events]
    action = next((event.get("data") for event in events if event.get("event") == "action"), None)
    metadata = next((event.get("data") for event in events if event.get("event") == "metadata"), None)
    stopped = {"event": "nextAgentFlow", "data": {"nodeId": HUMAN_NODE, "nodeLabel": "Review", "status": "STOPPED"}}
    expect(
        stopped in events and "action" in names and names[-2:] == ["metadata", "end"]
        and names.index("action") < names.index("metadata") and {"event": "agentFlowEvent", "data": "STOPPED"} in events,
        check="human_input_stream_stops_with_action",
        message=f"events {names}",
        exchange=stream.exchange,
    )
    expect(
        isinstance(action, dict) and isinstance(metadata, dict) and metadata.get("action") == action,
        check="human_input_stream_metadata_has_action",
        message=f"action event {action!r}, metadata {metadata!r}",
        exchange=stream.exchange,
    )
