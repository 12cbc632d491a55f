"""The Iteration node: the nodes inside it run once per item of its ``iterationInput`` array.

Each item is a nested run of the scheduler over the node's block (``{{ $iteration }}`` is the item),
starting from the flow state the previous item left. The items count against the prediction's budget
before any runs, and the nesting of Iteration nodes (a block holding itself included) is capped.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from mockserver.llm.nodes.base import NodeCall, NodeFailure, as_text
from mockserver.llm.nodes.registry import handles

MAX_NESTING = 5


def _items(given: Any) -> list[Any]:
    """``iterationInput``: a JSON array as text (unescaped once more if need be), or a list."""
    if isinstance(given, str) and given:
        try:
            given = json.loads(given)
        except ValueError:
            try:
                given = json.loads(re.sub(r"""\\(["'\[\]{}])""", r"\1", given))
            except ValueError as exc:
                raise NodeFailure(str(exc)) from None
    if not isinstance(given, list):
        raise NodeFailure("Invalid input array")
    return given


@handles("iterationAgentflow")
def iteration(call: NodeCall) -> None:
    """The answers of the runs, one per line, are its content (and ``iterationResults``); a run that fails
    answers ``Error in iteration <n>: ...`` instead and leaves no executed data. It streams nothing itself."""
    run, ctx = call.entry, call.ctx
    if ctx.nesting >= MAX_NESTING:  # a block inside itself, or blocks inside each other
        raise NodeFailure(f"Iteration nodes nested more than {MAX_NESTING} deep")
    given = call.inputs.get("iterationInput")
    items = _items(call.resolve(given) if isinstance(given, str) else given)
    run.input = {"iterationInput": items}
    block = call.graph.block(run.node.id)
    if not block.nodes:
        return
    ctx.budget.items(len(items))
    answers: list[str] = []
    for index, item in enumerate(items):
        context = {"index": index, "value": item, "isFirst": index == 0, "isLast": index == len(items) - 1,
                   "sessionId": ctx.session_id}
        inner = replace(ctx, state=dict(ctx.state), iteration=context, nesting=ctx.nesting + 1)
        result = call.run_block(block, inner)
        if result.failure is not None:
            for child in result.nodes:
                child.recorded = False
            run.children.extend(result.nodes)
            answers.append(f"Error in iteration {index + 1}: {result.failure}")
            continue
        for child in result.nodes:
            child.extra = {**child.extra, "iterationIndex": index, "iterationContext": context,
                           "parentNodeId": run.node.id}
        run.children.extend(result.nodes)
        last = result.nodes[-1].output.get("content", " ") if result.nodes else " "
        if last:
            answers.append(last if isinstance(last, str) else as_text(last))
        if inner.state:
            ctx.state = {**ctx.state, **inner.state}
    run.output = {"iterationResults": answers, "content": "\n".join(answers)}
