"""``{{ ... }}`` in agentflow node inputs, resolved the way Flowise's agentflow variable resolver does.

Every node that takes text (a Direct Reply's message, an LLM's user message, a condition's values, a
state update...) goes through ``substitute``: ``{{ question }}``, ``{{ chat_history }}``,
``{{ $vars.<name> }}``, ``{{ $flow.chatId|sessionId|chatflowId }}``, ``{{ $flow.state.<key> }}``,
``{{ $iteration[.path] }}``, ``{{ $form.<field> }}`` and ``{{ <nodeId> }}`` (what that node answered); a
placeholder it cannot resolve stays as written. A value the flow editor saved as HTML is read as Markdown
first, as Flowise does.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from markdownify import markdownify

if TYPE_CHECKING:
    from mockserver.llm.nodes.base import AgentflowContext

__all__ = ["from_editor", "substitute"]

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
#: Flowise's test for editor HTML: a value that opens with a block tag.
_EDITOR_HTML = re.compile(r"^\s*<(?:p|div|h[1-6]|ul|ol|blockquote|pre|table)\b", re.IGNORECASE)


def from_editor(text: str) -> str:
    """A value the flow editor saved as HTML (``<p>...</p>``, TipTap's legacy output) as the Markdown text
    Flowise's variable resolver makes of it before use; any other text is left as it is."""
    if not _EDITOR_HTML.match(text):
        return text
    return markdownify(text, escape_asterisks=False, escape_underscores=False, escape_misc=False).strip()


def substitute(template: str, ctx: AgentflowContext, outputs: dict[str, str]) -> str:
    """Resolve ``{{ ... }}`` placeholders (see the module docstring); ``outputs`` maps node ids to answers."""
    template = from_editor(template)

    def resolve(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "question":
            return ctx.question
        if key == "chat_history":
            return "\n".join(f"{t.role}: {t.content}" for t in ctx.history)
        if key.startswith("$vars."):
            value = ctx.variables.get(key[len("$vars."):])
            return match.group(0) if value is None else str(value)
        if key in ("$flow.chatId", "$flow.sessionId", "$flow.chatflowId", "$flow.chatflowid"):
            return {"chatId": ctx.chat_id, "sessionId": ctx.session_id}.get(key[len("$flow."):], ctx.chatflow_id)
        if key.startswith("$flow.state."):
            value = ctx.state.get(key[len("$flow.state."):])
            if value is None:
                return match.group(0)
            return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)
        if key == "$iteration" or key.startswith("$iteration."):
            return _iteration_value(ctx, key, match.group(0))
        if key.startswith("$form.") and ctx.form:
            return str(ctx.form.get(key[len("$form."):], ""))
        if key in outputs:
            return outputs[key]
        return match.group(0)

    return _PLACEHOLDER.sub(resolve, template)


def _iteration_value(ctx: AgentflowContext, key: str, unresolved: str) -> str:
    """``{{ $iteration }}`` (the item, objects as JSON) and ``{{ $iteration.<path> }}`` (a key of it)."""
    value = ctx.iteration.get("value") if ctx.iteration else None
    if not value:
        return unresolved
    if key != "$iteration":
        if not isinstance(value, (dict, list)):
            return str(value) if isinstance(value, str) else unresolved
        for part in key[len("$iteration."):].split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return unresolved
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value) if isinstance(value, bool) else str(value)
