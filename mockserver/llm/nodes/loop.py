"""The Loop node: runs ``loopBackToNode`` (and what follows it) again, up to ``maxLoopCount`` jumps per
request, then answers its fallback message. Every jump spends one of the prediction's loop turns."""

from __future__ import annotations

from mockserver.llm.conditions import has_number, parse_float
from mockserver.llm.nodes.base import Next, NodeCall
from mockserver.llm.nodes.registry import handles

_DEFAULT_MAX_LOOPS = 5


@handles("loopAgentflow")
def loop(call: NodeCall) -> Next:
    """``loopBackToNode`` is ``<id>-<label>``; ``maxLoopCount`` defaults to 5; after the last jump the content
    is the fallback message, streamed after the node's executed data."""
    run, node = call.entry, call.node
    target = str(node.inputs.get("loopBackToNode") or "")
    target_id, _, rest = target.partition("-")
    label = rest.split("-")[0]
    given = node.inputs.get("maxLoopCount")
    limit = int(parse_float(given)) if given and has_number(given) else _DEFAULT_MAX_LOOPS  # parseInt
    fallback = node.inputs.get("fallbackMessage")
    run.input = {"nodeID": target_id, "maxLoopCount": limit}
    run.output = {"content": f"Loop back to {label} ({target_id})", "nodeID": target_id, "maxLoopCount": limit,
                  **({"fallbackMessage": fallback} if fallback is not None else {})}
    call.update_state("loopUpdateState", run.output["content"])
    count = call.loops.get(node.id, 0) + 1
    if count < limit:
        call.ctx.budget.loop_turn()
        call.loops[node.id] = count
        return Next(loop_to=target_id)
    message = fallback or f"Loop completed after reaching maximum iteration count of {limit}."
    run.output["content"] = message
    run.after = [("token", message)]
    return Next()
