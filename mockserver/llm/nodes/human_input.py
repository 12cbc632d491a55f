"""The Human Input node: the run stops there and asks Proceed or Reject; a resumed run continues from it.

The first visit answers the last message and the node's question ("Do you want to proceed?") with an
``action`` offering Proceed and Reject, the node and the execution ``STOPPED``. A later request with
``humanInput: {type, startNodeId, feedback?}`` resumes the same execution at this node, which then
follows its ``proceed`` (``-output-0``) or ``reject`` (``-output-1``) edges.
"""

from __future__ import annotations

from typing import Any

from mockserver.llm.answer import Prompt, compose, tokenize
from mockserver.llm.flow import Node
from mockserver.llm.nodes.base import Next, NodeCall, Resume
from mockserver.llm.nodes.registry import handles
from mockserver.store.db import new_id

_DEFAULT_QUESTION = "Do you want to proceed?"


@handles("humanInputAgentflow")
def human_input(call: NodeCall) -> Next:
    """It sees the session's stored turns (Flowise's key order), then the run's own chat history."""
    ctx = call.ctx
    messages = [*({"content": t.content, "role": t.role} for t in ctx.history), *call.conversation]
    if call.resume is None:
        return Next(action=_ask(call, messages))
    _answer(call, call.resume, messages)
    return Next(branch=f"{call.node.id}-output-{0 if call.resume.proceed else 1}")


def _feedback_enabled(node: Node) -> bool:
    """Feedback is asked for unless ``humanInputEnableFeedback`` is off (on by default)."""
    return node.inputs.get("humanInputEnableFeedback") not in (False, "false")


def _ask(call: NodeCall, messages: list[dict[str, str]]) -> dict[str, Any]:
    """A first visit: the node asks its question after the last message and the run stops with an action."""
    run, node, ctx = call.entry, call.node, call.ctx
    last = (messages[-1].get("content") or "") if messages else ""
    if node.inputs.get("humanInputDescriptionType") == "dynamic":  # the node's model writes the question
        content = compose(Prompt(question=last or ctx.question, seed=ctx.seed), answer_tokens=ctx.answer_tokens).text
        run.tokens = tokenize(content)
    else:  # the last message, then the fixed question, even when there is no message before it
        described = node.inputs.get("humanInputDescription")
        question = call.resolve(described) if isinstance(described, str) else ""
        content = f"{last}\n\n{question or _DEFAULT_QUESTION}"
        run.single_token = True
        run.tokens = [content]
    run.input = {"messages": messages, "humanInputEnableFeedback": _feedback_enabled(node)}
    action = {"id": new_id(), "mapping": {"approve": "Proceed", "reject": "Reject"},
              "elements": [{"type": "agentflowv2-approve-button", "label": "Proceed"},
                           {"type": "agentflowv2-reject-button", "label": "Reject"}],
              "data": {"nodeId": node.id, "nodeLabel": node.label, "input": run.input}}
    run.output = {"content": content, "humanInputAction": action}
    run.extra = {"chatHistory": [{"role": "assistant", "content": content}]}
    run.status = "STOPPED"
    return action


def _answer(call: NodeCall, resume: Resume, messages: list[dict[str, str]]) -> None:
    """The resumed visit: the decision becomes the node's fulfilled condition and its content (the feedback,
    else ``proceed``/``reject``); it streams nothing."""
    run, node = call.entry, call.node
    with_feedback = _feedback_enabled(node) and resume.feedback
    said = resume.feedback or ("proceed" if resume.proceed else "reject")
    run.input = {**resume.human_input, "messages": [*messages, {"role": "user", "content": said}]}
    run.output = {"content": said, "conditions": [
        {"type": kind, "startNodeId": node.id, **({"feedback": resume.feedback} if with_feedback else {}),
         "isFulfilled": resume.proceed == (kind == "proceed")}
        for kind in ("proceed", "reject")
    ]}
    if resume.feedback:
        run.extra = {"chatHistory": [{"role": "user", "content": resume.feedback}]}
