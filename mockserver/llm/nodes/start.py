"""The Start node: the question (or form) goes on, the flow state is seeded, memory may be left out."""

from __future__ import annotations

from mockserver.llm.nodes.base import Next, NodeCall
from mockserver.llm.nodes.registry import handles


@handles("startAgentflow")
def start(call: NodeCall) -> Next:
    """Seeds the flow state (``startState``, then with ``startPersistState`` the state the session's last run
    ended with) and, with ``startEphemeralMemory``, leaves the stored conversation out of this run. The two
    flags show in its output, as in Flowise. Later nodes read the question as its answer."""
    ctx, run, inputs = call.ctx, call.entry, call.inputs
    run.input = {"form": ctx.form} if ctx.form else {"question": ctx.question} if ctx.question_given else {}
    run.output = dict(run.input)
    ctx.state = {}
    call.update_state("startState", "")
    if inputs.get("startPersistState") is True:
        ctx.state.update(ctx.persisted_state)
    if inputs.get("startEphemeralMemory"):
        run.output["ephemeralMemory"] = True
        ctx.history = ctx.history[:len(ctx.history) - ctx.stored_turns]
        ctx.stored_turns = 0
    if inputs.get("startPersistState"):
        run.output["persistState"] = True
    return Next(passes=ctx.question)
