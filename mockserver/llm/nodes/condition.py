"""The Condition node: the first of its conditions that holds (conditions.py) is fulfilled, else the Else;
the run follows that output's edges only (``-output-<index>``, the Else after the last condition)."""

from __future__ import annotations

from mockserver.llm.conditions import first_fulfilled
from mockserver.llm.nodes.base import Next, NodeCall, list_input
from mockserver.llm.nodes.registry import handles


@handles("conditionAgentflow")
def condition(call: NodeCall) -> Next:
    """Values are resolved like any ``{{ ... }}`` before they are compared."""
    conditions = [dict(c) for c in list_input(call.inputs.get("conditions"))]
    for entry in conditions:
        for key in ("value1", "value2"):
            if isinstance(entry.get(key), str):
                entry[key] = call.resolve(entry[key])
    chosen, decided = first_fulfilled(conditions)
    # Flowise spreads the condition list into an object for the node's input: {"0": ..., "1": ...}
    call.entry.input = {"conditions": {str(i): c for i, c in enumerate(conditions)}}
    call.entry.output = {"conditions": decided}
    return Next(branch=f"{call.node.id}-output-{chosen}")
