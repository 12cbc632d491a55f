"""The Condition Agent node: the fake model picks the scenario the input is about (scenarios.py) and the
run follows that output's edges only. It reports the usage of the model call Flowise would make."""

from __future__ import annotations

import json
import time

from mockserver.llm.answer import tokenize
from mockserver.llm.nodes.base import Next, NodeCall, NodeFailure, list_input
from mockserver.llm.nodes.llm import llm_metadata
from mockserver.llm.nodes.registry import handles
from mockserver.llm.scenarios import best_scenario, scenario_answer

#: The worked example Flowise's Condition Agent shows its model before the real question (its few-shot
#: prefix); the mock's model counts these tokens like any other, so the node reports the same usage.
_AGENT_EXAMPLE = ('{"input": "Hello", "scenarios": ["user is asking about AI", "user is not asking about AI"], '
                  '"instruction": "Your task is to check if the user is asking about AI."}',
                  '```json\n{"output": "user is not asking about AI"}\n```')


@handles("conditionAgentAgentflow")
def condition_agent(call: NodeCall) -> Next:
    run, ctx, inputs = call.entry, call.ctx, call.inputs
    scenarios = [str(s.get("scenario") or "") for s in list_input(inputs.get("conditionAgentScenarios"))]
    if not inputs.get("conditionAgentModel"):
        raise NodeFailure("Error in Condition Agent node: Model is required")
    if not scenarios:
        raise NodeFailure("Error in Condition Agent node: Scenarios are required")
    given = inputs.get("conditionAgentInput")
    text = call.resolve(given) if isinstance(given, str) and given else ctx.question
    instruction = inputs.get("conditionAgentInstructions")
    instruction = "undefined" if instruction is None else call.resolve(str(instruction))
    started = time.time()
    chosen = best_scenario(text, scenarios)
    answer = scenario_answer(scenarios[chosen])
    asked = f'{{"input": {text}, "scenarios": {json.dumps(scenarios, separators=(",", ":"))}, "instruction": {instruction}}}'
    sent = sum(len(tokenize(m)) for m in (*_AGENT_EXAMPLE, asked))
    said = len(tokenize(answer))
    ended = time.time()
    listing = "\n".join(f"{i + 1}. {scenario}" for i, scenario in enumerate(scenarios))
    run.input = {"messages": [{"role": "user",
                               "content": f"### Input\n{text}\n\n### Scenarios\n{listing}\n\n### Instruction\n{instruction}"}]}
    config = inputs.get("conditionAgentModelConfig")
    model_name = str(config.get("modelName") or "mock-llm") if isinstance(config, dict) else "mock-llm"
    run.output = {
        "conditions": [{"output": scenario, "isFulfilled": index == chosen} for index, scenario in enumerate(scenarios)],
        "content": answer,
        "timeMetadata": {"start": int(started * 1000), "end": int(ended * 1000), "delta": int((ended - started) * 1000)},
        **llm_metadata(sent, said, model_name, streamed=False),
    }
    run.extra = {"chatHistory": [{"role": "user", "content": ctx.question}]}
    return Next(branch=f"{call.node.id}-output-{chosen}")
