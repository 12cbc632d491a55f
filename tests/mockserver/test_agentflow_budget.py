"""The agentflow work budget and the engine's cost: one anonymous request cannot make a run unbounded,
a run costs what its nodes cost, and a big run holds up no other request.

Each hostile case is one that once took the server down or stalled it: an Iteration over a 20,000-item
question (memory until the kernel stepped in), an Iteration inside itself (about n^4 nodes), a Loop told
to go round 50,000 times, a 1,200-node chain (cubic in its length). Sizes here are small enough to be
quick; costs are compared as counts or as ratios measured in the same test, never as absolute times.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import DIRECT_REPLY, create_flow, events, node

from mockserver.cli import build_parser, settings_from_args
from mockserver.llm.agentflow import AgentflowContext, run_agentflow
from mockserver.llm.budget import Budget
from mockserver.llm.flow import FlowProfile, read_profile
from mockserver.llm.nodes.registry import NodeRegistryError, check_registry, handler_for, handles
from mockserver.store.db import Database

START = DIRECT_REPLY["nodes"][0]
BUDGET_ERROR = "Error: predictionsServices.buildChatflow - Agentflow work budget exceeded: more than "
UNBOUNDED = {"agentflow_max_nodes": 10**7, "agentflow_max_iteration_items": 10**7,
             "agentflow_max_loop_turns": 10**7, "agentflow_max_answer_size": 10**10}


def echo(node_id: str = "directReplyAgentflow_0", message: str = "Echo: {{ question }}") -> dict[str, Any]:
    return node(node_id, "directReplyAgentflow", "Agent Flows", "Echo", directReplyMessage=message)


def inside(block: dict[str, Any], parent: str) -> dict[str, Any]:
    return {**block, "parentNode": parent, "extent": "parent"}


def chain(length: int) -> dict[str, Any]:
    """Start → Echo → Echo → ... (``length`` echoes)."""
    nodes = [START, *(echo(f"directReplyAgentflow_{i}") for i in range(length))]
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [{"source": a, "target": b} for a, b in zip(ids, ids[1:], strict=False)]}


def iteration(*, self_nested: bool = False) -> dict[str, Any]:
    """Start → Iteration over the question, holding an Echo of the item (or, ``self_nested``, itself)."""
    each = node("iterationAgentflow_0", "iterationAgentflow", "Agent Flows", "Each", iterationInput="{{ question }}")
    block = [inside(each, "iterationAgentflow_0")] if self_nested else \
        [each, inside(echo(message="{{ $iteration }}"), "iterationAgentflow_0")]
    return {"nodes": [START, *block], "edges": [{"source": "startAgentflow_0", "target": "iterationAgentflow_0"}]}


def loop(count: int) -> dict[str, Any]:
    """Start → Echo → Loop back to the Echo, ``count`` times at most."""
    return {"nodes": [START, echo(), node("loopAgentflow_0", "loopAgentflow", "Agent Flows", "Again",
                                          loopBackToNode="directReplyAgentflow_0-Echo", maxLoopCount=count)],
            "edges": [{"source": "startAgentflow_0", "target": "directReplyAgentflow_0"},
                      {"source": "directReplyAgentflow_0", "target": "loopAgentflow_0"}]}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def predict(client: httpx.AsyncClient, flow: dict[str, Any], question: str, **body: Any) -> httpx.Response:
    flow_id = await create_flow(client, flow, "AGENTFLOW")
    return await client.post(f"/prediction/{flow_id}", json={"question": question, **body})


def budget_error(response: httpx.Response) -> str:
    assert response.status_code == 500, response.text[:300]
    message = response.json()["message"]
    assert message.startswith(BUDGET_ERROR), message
    return message[len(BUDGET_ERROR):]


async def test_an_iteration_over_20000_items_fails_at_once_with_a_small_answer(mock: httpx.AsyncClient) -> None:
    response = await predict(mock, iteration(), json.dumps(list(range(20_000))))
    assert budget_error(response).startswith("1000 iteration items in one prediction")
    assert len(response.content) < 1000


async def test_an_iteration_inside_itself_is_stopped(make_client: Callable[..., httpx.AsyncClient]) -> None:
    items = json.dumps(list(range(14)))
    assert budget_error(await predict(make_client(fast=True), iteration(self_nested=True), items)).startswith(
        "1000 iteration items")
    roomy = make_client(fast=True, agentflow_max_iteration_items=10**7)  # then the nodes run stop it
    assert budget_error(await predict(roomy, iteration(self_nested=True), items)).startswith("2000 nodes run")


async def test_a_loop_of_50000_turns_is_stopped_and_the_stream_ends_in_error(
        make_client: Callable[..., httpx.AsyncClient]) -> None:
    mock = make_client(fast=True)
    assert budget_error(await predict(mock, loop(50_000), "hi")).startswith("2000 nodes run")
    roomy = make_client(fast=True, agentflow_max_nodes=10**7)
    assert budget_error(await predict(roomy, loop(50_000), "hi")).startswith(
        "1000 loop turns in one prediction (--agentflow-max-loop-turns)")
    stream = events((await predict(mock, loop(50_000), "hi", streaming=True)).text)
    assert [e["event"] for e in stream[-3:]] == ["agentFlowEvent", "error", "end"]
    assert stream[-3]["data"] == "ERROR" and stream[-2]["data"].startswith(BUDGET_ERROR)
    failed = [e["data"] for e in stream if e["event"] == "nextAgentFlow" and e["data"]["status"] == "ERROR"]
    assert len(failed) == 1 and failed[0]["error"].startswith("Agentflow work budget exceeded")


async def test_a_stream_counts_the_executed_data_it_resends(mock: httpx.AsyncClient) -> None:
    """Flowise resends the whole executed data after each node, so a long streamed chain weighs the square
    of its length: 600 echoes pass as JSON but not as a stream."""
    assert (await predict(mock, chain(600), "hi")).status_code == 200
    stream = events((await predict(mock, chain(600), "hi", streaming=True)).text)
    assert stream[-2]["data"].startswith(BUDGET_ERROR) and "bytes of executed data" in stream[-2]["data"]


async def test_a_1200_node_chain_runs_whole(mock: httpx.AsyncClient) -> None:
    body = (await predict(mock, chain(1200), "hi")).json()
    assert len(body["agentFlowExecutedData"]) == 1201 and body["text"] == "Echo: hi"


def _profile(flow: dict[str, Any]) -> FlowProfile:
    return read_profile({"id": "f", "type": "AGENTFLOW", "flowData": json.dumps(flow)})


def _run(profile: FlowProfile) -> float:
    ctx = AgentflowContext(db=Database(":memory:"), question="hi", chat_id="c", session_id="s",
                           budget=Budget(10**7, 10**7, 10**7, 10**10))
    started = time.thread_time()  # CPU time: other processes on the machine do not count
    result = run_agentflow(profile, ctx)
    assert result.failure is None
    return time.thread_time() - started


class _CountingList(list):  # type: ignore[type-arg]
    """A list that counts the times it is walked through."""

    walks = 0

    def __iter__(self):  # noqa: ANN204
        _CountingList.walks += 1
        return super().__iter__()


def test_a_chain_walks_its_nodes_and_edges_a_fixed_number_of_times() -> None:
    """The graph is indexed once per run: no list of the flow's nodes or edges is scanned per node."""
    walks = []
    for length in (600, 1200):
        profile = _profile(chain(length))
        profile.nodes, profile.edges = _CountingList(profile.nodes), _CountingList(profile.edges)
        _CountingList.walks = 0
        _run(profile)
        walks.append(_CountingList.walks)
    assert walks[0] == walks[1] <= 4


def test_a_chain_costs_time_linear_in_its_length() -> None:
    """A chain twice as long takes about twice as long (it took eight times as long: the cost was cubic).
    Best of five, interleaved, without the garbage collector, whose passes grow with the heap."""
    shorter, longer = _profile(chain(600)), _profile(chain(1200))
    gc.collect()
    gc.disable()
    try:
        times = [(_run(shorter), _run(longer)) for _ in range(5)]
    finally:
        gc.enable()
    ratio = min(t for _, t in times) / min(t for t, _ in times)
    assert ratio < 3, ratio


async def test_ping_answers_while_a_big_flow_runs(make_client: Callable[..., httpx.AsyncClient]) -> None:
    """Agentflows run off the event loop: pings sent while one runs (30,000 nodes) come back before it does
    (run on the loop, the flow answered first and every ping after it)."""
    mock = make_client(fast=True, strict=False, **{**UNBOUNDED, "agentflow_max_nodes": 30_000})
    flow_id = await create_flow(mock, loop(10**6), "AGENTFLOW")
    flow = asyncio.create_task(mock.post(f"/prediction/{flow_id}", json={"question": "hi"}))
    await asyncio.sleep(0.05)  # the flow is under way (on the loop, it would now be over)
    answered_first = 0
    while not flow.done():
        ping = await mock.get("/ping")
        assert ping.status_code == 200
        answered_first += not flow.done()
        await asyncio.sleep(0.01)
    assert answered_first > 0
    assert budget_error(await flow).startswith("30000 nodes run")


@pytest.mark.parametrize(("settings", "flow", "question", "passes"), [
    ({"agentflow_max_nodes": 1}, DIRECT_REPLY, "hi", False),
    ({"agentflow_max_nodes": 2}, DIRECT_REPLY, "hi", True),
    ({"agentflow_max_answer_size": 200}, DIRECT_REPLY, "hi", False),
    ({"agentflow_max_answer_size": "1kb"}, DIRECT_REPLY, "hi", True),
    ({"agentflow_max_loop_turns": 1}, loop(3), "hi", False),
    ({"agentflow_max_loop_turns": 2}, loop(3), "hi", True),
    ({"agentflow_max_iteration_items": 2}, iteration(), "[1, 2, 3]", False),
    ({"agentflow_max_iteration_items": 3}, iteration(), "[1, 2, 3]", True),
])
async def test_the_budget_settings_take_effect(make_client: Callable[..., httpx.AsyncClient], settings: dict[str, Any],
                                               flow: dict[str, Any], question: str, passes: bool) -> None:
    response = await predict(make_client(fast=True, **settings), flow, question)
    if passes:
        assert response.status_code == 200, response.text
    else:
        budget_error(response)


async def test_a_called_flow_spends_its_callers_budget(make_client: Callable[..., httpx.AsyncClient]) -> None:
    """Start → Execute Flow (2 nodes) calling Start → Echo (2 more): 3 nodes are not enough for both, and the
    caller fails, not only the flow it called."""
    mock = make_client(fast=True, agentflow_max_nodes=3)
    called = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW")
    execute = node("executeFlowAgentflow_0", "executeFlowAgentflow", "Agent Flows", "Ask",
                   executeFlowSelectedFlow=called, executeFlowInput="{{ question }}")
    caller = {"nodes": [START, execute], "edges": [{"source": "startAgentflow_0", "target": "executeFlowAgentflow_0"}]}
    assert budget_error(await predict(mock, caller, "hi")).startswith("3 nodes run")
    assert (await predict(make_client(fast=True, agentflow_max_nodes=4), caller, "hi")).status_code == 200


def test_the_budget_flags_and_environment() -> None:
    args = build_parser().parse_args(["--agentflow-max-nodes", "5", "--agentflow-max-answer-size", "2mb"])
    settings = settings_from_args(args)
    assert (settings.agentflow_max_nodes, settings.agentflow_max_answer_size) == (5, 2 * 1024**2)
    assert (settings.agentflow_max_iteration_items, settings.agentflow_max_loop_turns) == (1000, 1000)
    helped = build_parser().format_help()
    for flag, default in (("nodes", "2000"), ("iteration-items", "1000"), ("loop-turns", "1000"), ("answer-size", "5mb")):
        assert f"--agentflow-max-{flag}" in helped
        assert f"(default {default})" in helped


def test_the_budget_reads_mock_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from mockserver.settings import MockSettings

    monkeypatch.setenv("MOCK_AGENTFLOW_MAX_LOOP_TURNS", "7")
    monkeypatch.setenv("MOCK_AGENTFLOW_MAX_ANSWER_SIZE", "1kb")
    settings = MockSettings()
    assert (settings.agentflow_max_loop_turns, settings.agentflow_max_answer_size) == (7, 1024)


def test_the_node_registry_refuses_mistakes() -> None:
    check_registry()
    with pytest.raises(NodeRegistryError, match="two handlers"):
        handles("directReplyAgentflow")(lambda call: None)
    with pytest.raises(NodeRegistryError, match="no Flowise agentflow node"):
        handles("directReplyAgentflowV3")(lambda call: None)
    with pytest.raises(NodeRegistryError, match="passed through"):
        handles("httpAgentflow")(lambda call: None)
    assert handler_for("httpAgentflow") is handler_for("somethingElse")  # both pass their input on


def test_the_engine_does_not_import_the_handler_layer() -> None:
    """Execute Flow reaches other flows through the runner it is given, not through mockserver.resources."""
    code = ("import sys, mockserver.llm.agentflow; "
            "print([m for m in sys.modules if m.startswith('mockserver.resources')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("question", ["héllo ✓ \"quoted\" </script>", "lone \ud800 surrogate"])
def test_the_executed_data_frames_are_flowises_bytes(question: str) -> None:
    """The stream's executed-data events are cut from bytes serialised once; they must be the very bytes
    ``flowise_frame`` writes for the executed data so far (the reference harness compares bytes)."""
    from mockserver.resources.prediction import _executed_frames
    from mockserver.streaming import flowise_frame

    flow = iteration()
    flow["nodes"].append(echo("directReplyAgentflow_9", "Done: {{ iterationAgentflow_0 }} {{ question }}"))
    flow["edges"].append({"source": "iterationAgentflow_0", "target": "directReplyAgentflow_9"})
    ctx = AgentflowContext(db=Database(":memory:"), question=json.dumps([question, {"k": question}]),
                           chat_id="c", session_id="s")
    result = run_agentflow(_profile(flow), ctx)
    result.prior = [{"nodeId": "earlier", "data": {"output": {"content": question}}}]
    assert result.failure is None and len(result.nodes) == 3
    assert _executed_frames(result) == [flowise_frame("agentFlowExecutedData", result.executed_data(i + 1))
                                        for i in range(len(result.nodes))]
