"""AgentflowV2 control flow: a Condition runs one branch only; a Loop goes back, then answers its fallback;
a join waits for all its inputs; a persisted flow state carries over; Execute Flow asks another flow;
Custom Functions run JavaScript; an Iteration runs its block per item.

Every flow is provisioned by the run and needs no LLM: Start → Condition ("question contains refund",
written as the flow editor saves it, in HTML) → one Direct Reply per branch; Start → Direct Reply →
Loop back to it at most 3 times, falling back to "Enough."; a Direct Reply joined from a short branch
(Start → Condition) and a long one (Start → Condition → Condition); the Direct Reply → Loop flow with
``startPersistState`` on; Start → Execute Flow calling the Start → Direct Reply flow; two chained
Custom Functions; and an Iteration over three items with a Custom Function and a Direct Reply inside. A
reimplementation that runs every branch, loops forever or not at all, runs a join before its inputs are
in, forgets the state, or cannot call a flow, answers differently from Flowise here.
"""

from __future__ import annotations

import pytest

from conformance.deployment import self_call_failure
from conformance.fixtures import direct_reply_flow_data, flow_data
from conformance.semantics.support import create, expect_answer, predict, prediction_answer
from conformance.violations import Violation, expect

pytestmark = pytest.mark.flowise(
    area="prediction", tags=("prediction", "chatflows"), operation="createPrediction", writes=True,
    requires=("answering",),
)


def provision(client, ledger, unique, name: str, **placeholders: str) -> str:
    body = {"name": unique(name), "flowData": flow_data(f"agentflow_{name}", **placeholders), "type": "AGENTFLOW"}
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


def _ran(data: dict) -> list:
    return [entry.get("nodeId") for entry in data.get("agentFlowExecutedData") or []]


def test_a_join_runs_once_all_its_inputs_have_arrived(flowise_client, flowise_ledger, flowise_unique) -> None:
    """The Direct Reply waits for the long branch too, so it runs last, once, with both as its inputs."""
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "join")
    response, data = predict(flowise_client, flow, {"question": "hi"})
    ran = _ran(data)
    joined = (data.get("agentFlowExecutedData") or [{}])[-1]
    expect(
        data.get("text") == "Joined: hi"
        and ran == ["startAgentflow_0", "conditionAgentflow_0", "conditionAgentflow_1", "conditionAgentflow_2",
                    "directReplyAgentflow_0"]
        and joined.get("previousNodeIds") == ["conditionAgentflow_0", "conditionAgentflow_2"],
        check="join_waits_for_its_inputs",
        message=f"text {data.get('text')!r} after running {ran}",
        exchange=flowise_client.exchange_of(response),
    )


def test_a_persisted_flow_state_carries_over_to_the_sessions_next_run(
    flowise_client, flowise_ledger, flowise_unique
) -> None:
    """The first run starts from ``startState`` and leaves ``seen`` set by the Loop; with ``startPersistState``
    on, the session's next run starts from there."""
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "persist_state")
    chat_id = flowise_unique("persist")
    first_echo = "refunds / "
    carried = "refunds / Loop back to Echo (directReplyAgentflow_0)"
    outputs = []
    for question in ("hi", "again"):
        response, data = predict(flowise_client, flow, {"question": question, "chatId": chat_id})
        executed = data.get("agentFlowExecutedData") or [{}, {}]
        outputs.append(((executed[1].get("data") or {}).get("output") or {}).get("content"))
    expect(
        outputs == [first_echo, carried],
        check="persisted_state_carries_over",
        message=f"the first echo of each run was {outputs}; expected {[first_echo, carried]}",
        exchange=flowise_client.exchange_of(response),
    )


def test_execute_flow_asks_another_flow_and_answers_with_its_answer(
    flowise_client, flowise_ledger, flowise_unique
) -> None:
    body = {"name": flowise_unique("echo"), "flowData": direct_reply_flow_data(), "type": "AGENTFLOW"}
    echo = str(create(flowise_client, flowise_ledger, "chatflow", body, operation="createChatflow")["id"])
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "execute_flow", **{"$direct": echo})
    first = flowise_client.post(f"/prediction/{flow}", json={"question": "hi"})
    why = self_call_failure(first.text) if first.status_code == 500 else None
    if why:
        raise Violation(
            f"Flowise could not call itself at the address of this request ({why}); behind a proxy it must "
            "reach its public address, get the Host the client sent (port included) and trust the proxy's "
            "certificate (docs/deployment.md#flowise-calls-itself)",
            check="execute_flow_reaches_flowise", operation="createPrediction",
            exchange=flowise_client.exchange_of(first),
        )
    response, data = prediction_answer(flowise_client, first)
    state = ((data.get("agentFlowExecutedData") or [{}])[-1].get("data") or {}).get("state")
    expect(
        data.get("text") == "Echo: Relay: hi" and state == {"answer": "Echo: Relay: hi"},
        check="execute_flow_answers",
        message=f"text {data.get('text')!r}, state {state!r}; expected the called flow's 'Echo: Relay: hi' in both",
        exchange=flowise_client.exchange_of(response),
    )


def test_custom_functions_run_their_javascript(flowise_client, flowise_ledger, flowise_unique) -> None:
    """Two chained Custom Functions: the first returns an object (the content is its indented JSON, kept in
    the flow state), the second reads it back with an input variable."""
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "custom_function")
    expect_answer(flowise_client, flow, {"question": "hi"}, "Hello, hi! (hi asked)", check="custom_function_runs")


def test_an_iteration_runs_its_block_once_per_item(flowise_client, flowise_ledger, flowise_unique) -> None:
    """Three items; the function inside keeps a running state and throws on the second, whose answer is the
    error; the others answer in order."""
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "iteration")
    expected = ('Done: Item apple of {"name":"apple"} after start+apple\n'
                "Error in iteration 2: Error: NodeVM Execution Error: Error: no pears\n"
                'Item plum of {"name":"plum"} after start+apple+plum | start+apple+plum')
    expect_answer(flowise_client, flow, {"question": "hi"}, expected, check="iteration_runs_per_item")


def test_a_flow_that_executes_itself_fails_instead_of_recursing(flowise_client, flowise_ledger, flowise_unique) -> None:
    flow = provision(flowise_client, flowise_ledger, flowise_unique, "execute_flow", **{"$direct": "placeholder"})
    flowise_client.put(f"/chatflows/{flow}", json={"flowData": flow_data("agentflow_execute_flow", **{"$direct": flow})})
    response = flowise_client.post(f"/prediction/{flow}", json={"question": "hi"}, auth=True)
    expect(
        response.status_code == 500 and "Cannot call the same agentflow" in response.text,
        check="execute_flow_refuses_itself",
        message=f"answered {response.status_code} {response.text[:200]!r}; expected 500 'Cannot call the same agentflow!'",
        exchange=flowise_client.exchange_of(response),
    )
