"""The Execute Flow node: another chatflow of the mock answers ``executeFlowInput`` as a prediction.

The engine reaches that flow only through the ``FlowRunner`` its context was given (the prediction layer
supplies one that runs the flow as a prediction of this server with this run's ``chatId``, storing its
messages), so the node knows nothing of HTTP handlers. The called flow spends the same work budget.
"""

from __future__ import annotations

import json

from mockserver.llm.nodes.base import NodeCall, NodeFailure, as_text
from mockserver.llm.nodes.registry import handles


@handles("executeFlowAgentflow")
def execute_flow(call: NodeCall) -> None:
    """``executeFlowInput`` (resolved) goes to ``executeFlowSelectedFlow``; the answer's ``text`` (else its
    ``json`` in a code fence, else the whole answer as JSON) is the node's content, said as
    ``executeFlowReturnResponseAs`` (a user message unless ``assistantMessage``). A flow calling itself fails
    the node; a prediction that fails answers its error body, which becomes the content like any other
    answer, unless it failed for want of budget, which fails this run too."""
    run, ctx, inputs = call.entry, call.ctx, call.inputs
    given = inputs.get("executeFlowInput")
    question = call.resolve(given) if isinstance(given, str) else given
    run.input = {"messages": [{"role": "user", "content": question}]}
    selected = str(inputs.get("executeFlowSelectedFlow") or "")
    if selected == ctx.chatflow_id:
        raise NodeFailure("Error: Cannot call the same agentflow!")
    if ctx.execute_flow is None:
        raise NodeFailure("Error: Execute Flow is not available here")
    override = inputs.get("executeFlowOverrideConfig")
    if isinstance(override, str) and override.startswith("{") and override.endswith("}"):
        try:
            override = json.loads(call.resolve(override))
        except ValueError as exc:
            raise NodeFailure(f"Invalid JSON in executeFlowOverrideConfig: {exc}") from None
    answer = ctx.execute_flow(selected, question, override or None)
    ctx.budget.check()
    if answer.get("text"):
        text = str(answer["text"])
    elif answer.get("json"):
        text = "```json\n" + json.dumps(answer["json"], indent=2, ensure_ascii=False)
    else:
        text = json.dumps(answer, indent=2, ensure_ascii=False)
    run.output = {"content": text}
    for key in ("sourceDocuments", "usedTools"):
        if isinstance(answer.get(key), list) and answer[key]:
            run.output[key] = answer[key]
    call.update_state("executeFlowUpdateState", text)
    label = run.node.label.lower().replace(" ", "_").strip() if run.node.label else run.node.id
    said = {"role": "assistant" if inputs.get("executeFlowReturnResponseAs") == "assistantMessage" else "user",
            "content": text, "name": label}
    # the question is said only when the run has no chat history of its own yet
    run.extra = {"chatHistory": [*([] if call.conversation else [{"role": "user", "content": question}]), said]}
    run.single_token = True
    run.tokens = [as_text(text)] if text else []
