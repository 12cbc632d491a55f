"""The Direct Reply node: answers its message with the placeholders resolved, no model involved."""

from __future__ import annotations

from mockserver.llm.nodes.base import NodeCall
from mockserver.llm.nodes.registry import handles


@handles("directReplyAgentflow")
def direct_reply(call: NodeCall) -> None:
    """``directReplyMessage`` resolved ("Echo: {{ question }}" → "Echo: hi"), streamed as one token."""
    message = call.inputs.get("directReplyMessage")
    text = call.resolve(message) if isinstance(message, str) else ""
    call.entry.output = {"content": text}
    call.entry.single_token = True
    call.entry.tokens = [text] if text else []
