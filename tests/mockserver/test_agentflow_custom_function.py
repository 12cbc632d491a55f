"""AgentflowV2 Custom Function nodes: their JavaScript runs in an embedded V8 with Flowise's sandbox names
(checked byte for byte against Flowise 3.1.4 by the reference harness)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import create_flow, events, messages, node

from mockserver.llm.javascript import JavaScriptError, run_function


def function_flow(code: str, **inputs: Any) -> dict[str, Any]:
    start = node("startAgentflow_0", "startAgentflow", "Agent Flows", "Start", startInputType="chatInput",
                 startState=[{"key": "topic", "value": "refunds"}])
    function = node("customFunctionAgentflow_0", "customFunctionAgentflow", "Agent Flows", "Shape",
                    customFunctionJavascriptFunction=code, **inputs)
    return {"nodes": [start, function], "edges": [{"source": "startAgentflow_0", "target": "customFunctionAgentflow_0"}]}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


def test_the_sandbox_names_are_defined_and_awaiting_works() -> None:
    sandbox = {"$input": "hi", "$flow": {"state": {"n": 2}}, "$vars": {"name": "Ada"}}
    code = "const n = await Promise.resolve($flow.state.n); return `${$input} ${$vars.name} ${n * 2}`;"
    assert run_function(code, sandbox) == ("string", "hi Ada 4")
    assert run_function("return {a: [1, null]};", {}) == ("object", {"a": [1, None]})
    assert run_function("let unused = 1;", {}) == ("undefined", None)


def test_input_variable_names_are_not_code() -> None:
    """A name is a property of the sandbox, as in Flowise's NodeVM: one that is no identifier cannot inject code."""
    sandbox = {"$ok": "a", "$x = 1; throw 'injected'; var y": "b"}
    assert run_function("return $ok + Object.keys(globalThis).filter(k => k.startsWith('$x')).length;", sandbox) \
        == ("string", "a1")


@pytest.mark.parametrize(("code", "message"), [
    ("throw new Error('boom');", "Error: boom"),
    ("throw 'plain';", "plain"),
    ("return require('fs');", "ReferenceError: require is not defined"),
    ("return (;", "SyntaxError: Unexpected token ';'"),
])
def test_what_the_code_throws_is_the_error(code: str, message: str) -> None:
    with pytest.raises(JavaScriptError) as raised:
        run_function(code, {})
    assert str(raised.value) == message


def test_a_function_that_never_returns_is_stopped() -> None:
    with pytest.raises(JavaScriptError, match="longer than 0.5 s"):
        run_function("while (true) {}", {}, timeout_s=0.5)


async def test_the_function_answers_with_inputs_variables_and_state(mock: httpx.AsyncClient) -> None:
    code = "return `${$greeting}, ${$input} (${$flow.state.topic}, ${$flow.chatId})`;"
    flow_id = await create_flow(mock, function_flow(
        code, customFunctionInputVariables=[{"variableName": "greeting", "variableValue": "Hello {{ question }}"}],
        customFunctionUpdateState=[{"key": "topic", "value": "{{ output }}"}]), "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "chatId": "c1"})).json()
    assert body["text"] == "Hello hi, hi (refunds, c1)"
    data = body["agentFlowExecutedData"][1]["data"]
    assert data["input"] == {"inputVariables": [{"variableName": "greeting", "variableValue": "Hello hi"}], "code": code}
    assert data["state"] == {"topic": "Hello hi, hi (refunds, c1)"}
    stream = events((await mock.post(f"/prediction/{flow_id}",
                                     json={"question": "hi", "chatId": "c1", "streaming": True})).text)
    assert [e["data"] for e in stream if e["event"] == "token"] == [body["text"]]  # the last node: one token


async def test_a_returned_object_is_indented_json(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, function_flow("return {question: $input, n: 2};"), "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})).json()
    assert body["text"] == '{\n  "question": "hi",\n  "n": 2\n}'


async def test_code_that_throws_fails_the_node_and_stores_nothing(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, function_flow("throw new Error('boom');"), "AGENTFLOW")
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})
    assert response.status_code == 500
    assert response.json()["message"] == ("Error: predictionsServices.buildChatflow - "
                                          "Error: NodeVM Execution Error: Error: boom")
    assert await messages(mock, flow_id) == []
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "streaming": True})).text)
    failed = stream[-4]["data"][-1]
    assert failed["status"] == "ERROR" and failed["data"]["error"] == "Error: NodeVM Execution Error: Error: boom"
    assert stream[-2]["event"] == "error"


async def test_a_slow_function_does_not_hold_up_other_requests(mock: httpx.AsyncClient) -> None:
    """The flow runs off the event loop, so a ping sent while the function spins answers first."""
    code = "const end = Date.now() + 2000; while (Date.now() < end) {} return 'done';"
    flow_id = await create_flow(mock, function_flow(code), "AGENTFLOW")
    finished: list[str] = []

    async def predict() -> None:
        response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})
        finished.append(response.json()["text"])

    async def ping() -> None:
        await asyncio.sleep(0.3)  # the function is spinning by now
        response = await mock.get("/ping")
        finished.append(response.text)

    await asyncio.gather(predict(), ping())
    assert finished == ["pong", "done"]
