"""How an older Flowise release line answers otherwise, for ``--quirks flowise-3.0`` / ``flowise-2.2``.

The mock's entities are Flowise 3.1's. An older line answers the same operations with fewer fields: the
columns and keys a later release added do not exist there. Each entry below was seen missing on the
real release by the reference harness (``python -m conformance.reference --flowise-version 3.0.13``,
fidelity report), and is applied only under a quirks set of an older line; the contract (no quirks)
and ``--quirks flowise-3.1`` keep every field. Defects that differ by line are the spec's
``x-flowise-upstream`` notes with ``versions`` (``quirks.py``); this module holds what the contract itself
changed between lines (conformance/wire_changes.toml): the shapes, the public routes, the routes a line
lacks (``ABSENT_ON``) and the behaviours a later line brought (``CHANGES``, by wire change id).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from mockserver.settings import MockSettings

__all__ = ["ABSENT_ON", "ADDED", "CHANGES", "LINES", "PUBLIC_ON", "absent", "has", "has_permissions", "older_than",
           "public", "shape", "stream"]

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


def _chatbot_config(item: dict[str, Any]) -> bool:
    return "uploads" in item and "isTTSEnabled" in item


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
    # The widget's configuration: 2.2.8 answers the chatbotConfig keys and `uploads` only (wire change
    # chatbot-config-flow-data; services/chatflows/index.ts getSinglePublicChatbotConfig at 2.2.8).
    ("3.0", "chatbot config", _chatbot_config, ("flowData", "isTTSEnabled")),
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


#: Behaviours a release line changed (the ids of conformance/wire_changes.toml) → the first line that
#: behaves the new way; an older line's quirks keep the old way (``has``).
CHANGES: dict[str, str] = {
    # 3.1's Execute Flow posts with `secureAxiosRequest`, which accepts every status, so a called flow's
    # error body becomes the node's answer; 3.0 and 2.2 post with plain axios, which throws on a status of
    # 400 or more: the node fails with `AxiosError: Request failed with status code <status>`, and so does the
    # prediction (flowise-components dist/nodes/agentflow/ExecuteFlow/ExecuteFlow.js at 3.0.13 and 3.1.4).
    "execute-flow-error-is-the-answer": "3.1",
    # 3.0.6 refuses a missing or unknown chatflow type (400 `Invalid Chatflow Type`); 2.2 saves any
    # (packages/server/src/controllers/chatflows/index.ts at flowise@2.2.8 and 3.0.13).
    "chatflow-type-checked": "3.0",
    # A non-public chatflow on `GET /public-chatflows/{id}`: 3.x's controller answers 401
    # `{"message":"Unauthorized"}` itself; 2.2's service throws, and the error handler answers its body
    # `{statusCode, success, message, stack}` (services/chatflows/index.ts getSinglePublicChatflow at 2.2.8).
    "public-chatflow-refusal-body": "3.0",
    # An attachment upload to a chatflow without full file upload enabled: 3.x refuses it (400 `File upload
    # is not enabled for this chatflow`, wrapped into a 500); 2.2 has no such check and answers what the
    # loader read (`[]` without files) (packages/server/src/utils/createAttachment.ts at 2.2.8 and 3.0.13).
    "attachment-upload-enabled-checked": "3.0",
}

#: Operations a line does not have (no route of its router matches): answered as any unknown route is, the
#: UI's index.html with a key. 2.2 has no executions (wire change `agentflows-v2`) and no `has-changed`
#: (packages/server/src/routes/chatflows/index.ts and routes/index.ts at flowise@2.2.8).
ABSENT_ON: dict[str, tuple[str, ...]] = {
    "checkIfChatflowHasChanged": ("2.2",),
    "getAllExecutions": ("2.2",),
    "deleteExecutions": ("2.2",),
    "getExecutionById": ("2.2",),
    "updateExecution": ("2.2",),
    "deleteExecution": ("2.2",),
    "getPublicExecutionById": ("2.2",),  # not on 2.2's public list either: 401 without a valid key
}


def has(settings: MockSettings, change: str) -> bool:
    """Does the quirks' line behave the way wire change ``change`` brought? (True without quirks.)"""
    return not older_than(settings, CHANGES[change])


def absent(settings: MockSettings, operation_id: str) -> bool:
    """Has the quirks' line no route for ``operation_id``?"""
    return settings.quirks_line is not None and settings.quirks_line in ABSENT_ON.get(operation_id, ())


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
