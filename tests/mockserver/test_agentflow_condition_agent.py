"""AgentflowV2 Condition Agent nodes: the fake model picks the scenario the input is about, and the mock's
OpenAI-compatible endpoint picks the same one when a real Flowise asks it (reference harness: identical)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from test_prediction import DIRECT_REPLY, create_flow, events, node

from mockserver.llm.scenarios import best_scenario, scenario_answer, scenario_request

SCENARIOS = ["user asks about refunds", "user asks something else"]


def triage_flow(**inputs: Any) -> dict[str, Any]:
    """Start → Condition Agent → Refunds (scenario 0) / Other (scenario 1)."""
    agent = node("agent", "conditionAgentAgentflow", "Agent Flows", "Triage", conditionAgentModel="chatOpenAI",
                 conditionAgentInstructions="Decide what the user wants.",
                 conditionAgentScenarios=[{"scenario": s} for s in SCENARIOS], **inputs)
    return {"nodes": [DIRECT_REPLY["nodes"][0], agent,
                      node("refunds", "directReplyAgentflow", "Agent Flows", "Refunds", directReplyMessage="Refunds"),
                      node("other", "directReplyAgentflow", "Agent Flows", "Other", directReplyMessage="Other")],
            "edges": [{"source": "startAgentflow_0", "target": "agent"},
                      {"source": "agent", "sourceHandle": "agent-output-0", "target": "refunds"},
                      {"source": "agent", "sourceHandle": "agent-output-1", "target": "other"}]}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


@pytest.mark.parametrize(("text", "expected"), [
    ("I want a refund for my order", 0),  # "refund" meets "refunds"
    ("What time is it?", 1),  # no shared word: the last scenario
    ("user asks", 0),  # equal overlap: the first
])
def test_the_scenario_sharing_most_words_is_chosen(text: str, expected: int) -> None:
    assert best_scenario(text, SCENARIOS) == expected


def test_a_condition_agents_question_is_recognised() -> None:
    asked = '{"input": I want a refund, "scenarios": ["a b","c"], "instruction": Decide.}'
    assert scenario_request(asked) == ("I want a refund", ["a b", "c"])
    assert scenario_request("What is Flowise?") is None
    assert json.loads(scenario_answer("a b").strip("`").removeprefix("json\n")) == {"output": "a b"}


async def test_the_openai_endpoint_answers_a_condition_agent_with_the_scenario(mock: httpx.AsyncClient) -> None:
    question = '{"input": I want a refund, "scenarios": ' + json.dumps(SCENARIOS) + ', "instruction": Decide.}'
    body = {"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Classify."},
                                                  {"role": "user", "content": question}]}
    answer = (await mock.post("http://testserver/v1/chat/completions", json=body)).json()
    assert answer["choices"][0]["message"]["content"] == '```json\n{"output": "user asks about refunds"}\n```'


async def test_the_run_follows_the_chosen_scenario_only(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, triage_flow(), "AGENTFLOW")
    for question, reply in (("I want a refund", "Refunds"), ("What time is it?", "Other")):
        body = (await mock.post(f"/prediction/{flow_id}", json={"question": question})).json()
        assert body["text"] == reply and [n["nodeId"] for n in body["agentFlowExecutedData"]][-1] == reply.lower()
    data = body["agentFlowExecutedData"][1]["data"]
    assert data["output"]["conditions"] == [{"output": SCENARIOS[0], "isFulfilled": False},
                                            {"output": SCENARIOS[1], "isFulfilled": True}]
    assert data["input"]["messages"][0]["content"] == ("### Input\nWhat time is it?\n\n### Scenarios\n"
                                                       f"1. {SCENARIOS[0]}\n2. {SCENARIOS[1]}\n\n"
                                                       "### Instruction\nDecide what the user wants.")
    assert list(data["output"]["responseMetadata"])[0] == "estimatedTokenUsage"
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "refund?", "streaming": True})).text)
    assert [e["data"] for e in stream if e["event"] == "token"] == ["Refunds"]


async def test_without_scenarios_the_node_fails(mock: httpx.AsyncClient) -> None:
    flow = triage_flow()
    flow["nodes"][1]["data"]["inputs"]["conditionAgentScenarios"] = []
    flow_id = await create_flow(mock, flow, "AGENTFLOW")
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})
    assert response.status_code == 500
    assert response.json()["message"].endswith("Error in Condition Agent node: Scenarios are required")
