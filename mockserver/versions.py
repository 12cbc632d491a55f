"""What an older Flowise release line leaves out of its answers, for ``--quirks flowise-3.0`` / ``flowise-2.2``.

The mock's entities are Flowise 3.1's. An older line answers the same operations with fewer fields: the
columns and keys a later release added do not exist there. Each entry below was seen missing on the
real release by the reference harness (``python -m conformance.reference --flowise-version 3.0.13``,
fidelity report), and is applied only under a quirks set of an older line; the contract (no quirks)
and ``--quirks flowise-3.1`` keep every field. Defects that differ by line are the spec's
``x-flowise-upstream`` notes with ``versions`` (``quirks.py``); this module holds only the shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mockserver.settings import MockSettings

__all__ = ["ADDED", "LINES", "older_than", "shape"]

#: The release lines of the quirks sets, oldest first.
LINES = ("2.2", "3.0", "3.1")

Recognise = Callable[[dict[str, Any]], bool]


def _chatflow(item: dict[str, Any]) -> bool:
    return "flowData" in item and "deployed" in item


def _chat_message(item: dict[str, Any]) -> bool:
    return "role" in item and "chatflowid" in item and "content" in item


def _prediction(item: dict[str, Any]) -> bool:
    return "chatMessageId" in item and "question" in item and "agentFlowExecutedData" in item


#: (the line that added them, which objects, the keys): left out of answers under an older line's quirks.
ADDED: tuple[tuple[str, str, Recognise, tuple[str, ...]], ...] = (
    # chat_flow columns of 3.1 (MCP server and webhook triggers); absent from 3.0.13's chatflows.
    ("3.1", "chatflow", _chatflow, ("mcpServerConfig", "webhookSecretConfigured", "webhookSecret")),
    # chat_message.reasonContent (a model's reasoning) came with 3.1.
    ("3.1", "chat message", _chat_message, ("reasonContent",)),
    # A run stopped at a Human Input node: 3.0.13 answers the node's `humanInputAction` inside
    # agentFlowExecutedData only, without the top-level `action` 3.1 adds.
    ("3.1", "prediction", _prediction, ("action",)),
)


def _rank(line: str) -> int:
    return LINES.index(line) if line in LINES else len(LINES)


def older_than(settings: MockSettings, line: str) -> bool:
    """Do the quirks reproduce a line older than ``line``? (False without quirks: the contract is 3.1's.)"""
    current = settings.quirks_line
    return current is not None and _rank(current) < _rank(line)


def shape(settings: MockSettings, result: Any) -> Any:
    """``result`` (a handler's JSON answer) as the quirks' release line would answer it."""
    if settings.quirks_line is None:
        return result
    drops = [(recognise, keys) for since, _, recognise, keys in ADDED if older_than(settings, since)]
    if not drops:
        return result
    return _strip(result, drops)


def _strip(value: Any, drops: list[tuple[Recognise, tuple[str, ...]]]) -> Any:
    if isinstance(value, list):
        return [_strip(item, drops) for item in value]
    if isinstance(value, dict):
        gone = {key for recognise, keys in drops if recognise(value) for key in keys}
        if not gone:
            return value
        return {key: item for key, item in value.items() if key not in gone}
    return value
