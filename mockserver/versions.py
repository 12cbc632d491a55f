"""What an older Flowise release line leaves out of its answers, for ``--quirks flowise-3.0`` / ``flowise-2.2``.

The mock's entities are Flowise 3.1's. An older line answers the same operations with fewer fields: the
columns and keys a later release added do not exist there. Each entry below was seen missing on the
real release by the reference harness (``python -m conformance.reference --flowise-version 3.0.13``,
fidelity report), and is applied only under a quirks set of an older line; the contract (no quirks)
and ``--quirks flowise-3.1`` keep every field. Defects that differ by line are the spec's
``x-flowise-upstream`` notes with ``versions`` (``quirks.py``); this module holds only the shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from mockserver.settings import MockSettings

__all__ = ["ADDED", "LINES", "PUBLIC_ON", "called_flow_error_fails", "has_permissions", "older_than", "public", "shape",
           "stream"]

#: The release lines of the quirks sets, oldest first.
LINES = ("2.2", "3.0", "3.1")

Recognise = Callable[[dict[str, Any]], bool]


def _chatflow(item: dict[str, Any]) -> bool:
    return "flowData" in item and "deployed" in item


def _chat_message(item: dict[str, Any]) -> bool:
    return "role" in item and "chatflowid" in item and "content" in item


def _entity(item: dict[str, Any]) -> bool:
    return "id" in item and "workspaceId" in item


def _prediction(item: dict[str, Any]) -> bool:
    return "chatMessageId" in item and "question" in item and "agentFlowExecutedData" in item


def _usage(item: dict[str, Any]) -> bool:
    return "input_tokens" in item and "output_tokens" in item and "total_tokens" in item


def _model_response(item: dict[str, Any]) -> bool:
    return "finish_reason" in item and "model_name" in item


def _condition_agent_output(item: dict[str, Any]) -> bool:
    return "conditions" in item and "usageMetadata" in item


#: (the line that added them, which objects, the keys): left out of answers under an older line's quirks.
ADDED: tuple[tuple[str, str, Recognise, tuple[str, ...]], ...] = (
    # chat_flow columns of 3.1 (MCP server and webhook triggers); absent from 3.0.13's chatflows.
    ("3.1", "chatflow", _chatflow, ("mcpServerConfig", "webhookSecretConfigured", "webhookSecret")),
    # chat_message.reasonContent (a model's reasoning) came with 3.1.
    ("3.1", "chat message", _chat_message, ("reasonContent",)),
    # A run stopped at a Human Input node: 3.0.13 answers the node's `humanInputAction` inside
    # agentFlowExecutedData only, without the top-level `action` 3.1 adds.
    ("3.1", "prediction", _prediction, ("action",)),
    # A model call's metadata in an agentflow node's output: 3.0.13's LLM node answers the provider's
    # `usage_metadata` as LangChain gives it (the three token counts) and its `response_metadata` without
    # `model_provider`; 3.1 adds token details and costs. 3.0.13's Condition Agent reports no usage at all
    # (flowise-components dist/nodes/agentflow/LLM/LLM.js and ConditionAgent/ConditionAgent.js at 3.0.13).
    ("3.1", "model usage", _usage, ("input_token_details", "output_token_details", "base_input_cost",
                                    "base_output_cost", "input_cost", "output_cost", "total_cost")),
    ("3.1", "model response metadata", _model_response, ("model_provider",)),
    ("3.1", "condition agent output", _condition_agent_output, ("usageMetadata", "responseMetadata")),
    # 3.0 brought workspaces: 2.2.8's entities (chatflows, tools, variables, credentials, assistants,
    # document stores, ...) have no `workspaceId`; its chatflows no `textToSpeech`, its chat messages
    # no `execution` / `executionId` (agentflow executions came with 3.0).
    ("3.0", "any entity", _entity, ("workspaceId",)),
    ("3.0", "chatflow", _chatflow, ("textToSpeech",)),
    ("3.0", "chat message", _chat_message, ("execution", "executionId")),
)


#: Path prefixes whose place on Flowise's public list (WHITELIST_URLS) differs by line: prefix → the lines
#: where it is public. 3.1 added the chat abort (the widget's stop button); 3.0 took metrics and vector
#: upsert off the list (packages/server/src/utils/constants.ts at flowise@2.2.8, 3.0.13, 3.1.x).
PUBLIC_ON: dict[str, tuple[str, ...]] = {
    "/api/v1/chatmessage/abort": ("3.1",),
    "/api/v1/metrics": ("2.2",),
    "/api/v1/vector/upsert/": ("2.2",),
    # The leads list: public on 3.0 and 2.2 (`leads-list-public`); on 3.1 the spec's note decides.
    "/api/v1/leads/": ("3.0", "2.2"),
}
#: Prefixes that, on a line not listed above, are as on 3.1 (the spec decides) rather than private.
_ELSE_AS_31 = frozenset({"/api/v1/leads/"})
#: The end frame of a stream, and how 3.0 and 2.2 write it (`end-frame-without-colon`: SSEStreamer.removeClient).
END_FRAME = b'message:\ndata:{"event":"end","data":"[DONE]"}'
OLD_END_FRAME = b'message\ndata:{"event":"end","data":"[DONE]"}'


def public(settings: MockSettings, path: str) -> bool | None:
    """Is ``path`` public on the quirks' line? None: the line does not differ from 3.1 there."""
    line = settings.quirks_line
    if line is None:
        return None
    for prefix, lines in PUBLIC_ON.items():
        if path.startswith(prefix):
            if line in lines:
                return True
            return None if prefix in _ELSE_AS_31 else False
    return None


def stream(settings: MockSettings, body: AsyncIterable[bytes]) -> AsyncIterator[bytes] | None:
    """A prediction stream as the quirks' line writes it, or None when it is 3.1's (no rewrite needed).

    3.0 and 2.2 write the end frame without the colon after ``message``; the frame's bytes cannot
    occur elsewhere in a stream (a token's quotes are JSON-escaped), so a plain replace is exact."""
    if not older_than(settings, "3.1"):
        return None

    async def rewritten() -> AsyncIterator[bytes]:
        async for chunk in body:
            yield chunk.replace(END_FRAME, OLD_END_FRAME)

    return rewritten()


def called_flow_error_fails(settings: MockSettings) -> bool:
    """Does an Execute Flow node fail the run when the flow it calls answers an error status?

    3.0 and 2.2 post to the called flow with plain axios, which throws on a status of 400 or more: the node
    fails with ``AxiosError: Request failed with status code <status>`` and so does the prediction. 3.1's
    ``secureAxiosRequest`` accepts every status, and the error body becomes the node's answer
    (wire change ``execute-flow-error-is-the-answer``; flowise-components
    dist/nodes/agentflow/ExecuteFlow/ExecuteFlow.js at 3.0.13 and 3.1.4)."""
    return older_than(settings, "3.1")


def has_permissions(settings: MockSettings) -> bool:
    """Keys carry permissions from 3.0 on; a 2.x key may call everything (no 403)."""
    return not older_than(settings, "3.0")


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
    if isinstance(value, dict):  # nested objects too: an execution's joined agentflow is a chatflow
        gone = {key for recognise, keys in drops if recognise(value) for key in keys}
        return {key: _strip(item, drops) for key, item in value.items() if key not in gone}
    return value
