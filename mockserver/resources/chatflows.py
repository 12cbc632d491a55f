"""Chatflows: CRUD, the key-bound listing and the public helpers the embed widget calls.

A chatflow is stored as Flowise stores it: ``flowData`` and the other config columns stay JSON strings,
booleans are integers until shaped. Deleting a chatflow also deletes what hangs off it (messages,
feedback, leads, upsert history, vectors), as Flowise does, so a new chatflow never inherits old rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse

from mockserver import quirks, versions
from mockserver.errors import FlowiseError, TextError
from mockserver.operations import Call, operation
from mockserver.resources._flowdata import is_streaming, is_tts_enabled, public_flow_data, uploads_config
from mockserver.resources._shape import (
    chatflow_json,
    delete_answer,
    insert_entity,
    listing,
    load_entity,
    missing,
    paged,
    store_value,
    update_entity,
)
from mockserver.store import chatflows, records
from mockserver.store.db import json_object

#: The fields a client may set; id, dates, workspaceId and the webhook secret are the server's.
WRITABLE = ("name", "flowData", "deployed", "isPublic", "apikeyid", "chatbotConfig", "apiConfig", "analytic",
            "speechToText", "textToSpeech", "followUpPrompts", "category", "type", "mcpServerConfig")
JSON_TEXT = ("flowData", "chatbotConfig", "apiConfig", "analytic", "speechToText", "textToSpeech",
             "followUpPrompts", "mcpServerConfig")
TYPES = ("CHATFLOW", "AGENTFLOW", "MULTIAGENT", "ASSISTANT")
NOT_FOUND = "Chatflow {id} not found in the database!"


def _fields(body: dict[str, Any], call: Call | None = None) -> dict[str, Any]:
    if "type" in body and body["type"] not in TYPES \
            and (call is None or versions.has(call.settings, "chatflow-type-checked")):
        raise FlowiseError(400, "Invalid Chatflow Type")
    return {key: store_value(body[key], json_text=key in JSON_TEXT) for key in WRITABLE if key in body}


def _load(call: Call, where: str) -> dict[str, Any]:
    return load_entity(call, "chat_flow", NOT_FOUND, where=where)


def _load_public(call: Call, where: str) -> dict[str, Any]:
    """The chatflow of a public route: no workspace to check, and Flowise's shorter message."""
    row = records.get(call.db, "chat_flow", call.path["id"])
    if row is None:
        raise missing(call, f"Chatflow {call.path['id']} not found", where=where)
    return row


@operation("listChatflows")
async def list_chatflows(call: Call) -> list[dict[str, Any]] | dict[str, Any]:
    chatflow_type = call.query.get("type")
    return listing(call, "chat_flow", chatflow_json, equal={"type": chatflow_type} if chatflow_type else None)


@operation("createChatflow")
async def create_chatflow(call: Call) -> dict[str, Any]:
    """Flowise refuses a missing or unknown ``type`` with 400 ``Invalid Chatflow Type`` (3.0.6+). Under
    ``--quirks flowise-2.2`` the type is not checked; 2.2 parses ``flowData`` first (``containsBase64File``),
    so without it the save fails with the service's 500. (A missing type is then stored as the mock's
    default, CHATFLOW, where 2.2 stores none.)"""
    body = call.body or {}
    if versions.has(call.settings, "chatflow-type-checked"):
        if body.get("type") not in TYPES:
            raise FlowiseError(400, "Invalid Chatflow Type")
    elif not isinstance(body.get("flowData"), str):
        raise FlowiseError(500, 'Error: chatflowsService.saveChatflow - "undefined" is not valid JSON')
    for required in ("name", "flowData"):
        if body.get(required) is None:
            raise FlowiseError(400, f"Invalid request body /{required}: '{required}' is a required property")
    saved = insert_entity(call, "chat_flow", _fields(body, call), body)
    counter = "agentflow_created" if saved["type"] in ("AGENTFLOW", "MULTIAGENT") else "chatflow_created"
    call.state.metrics.count(counter)
    return _saved_json(saved)


@operation("getChatflowById")
async def get_chatflow_by_id(call: Call) -> dict[str, Any]:
    return chatflow_json(_load(call, "chatflowsService.getChatflowById"))


@operation("updateChatflow")
async def update_chatflow(call: Call) -> dict[str, Any]:
    """A partial update: only the fields sent change; ``updatedDate`` always moves forward."""
    row = _load(call, "chatflowsService.updateChatflow")
    fields = _fields(call.body or {}, call)
    changed = any(row.get(name) != value for name, value in fields.items())
    saved = update_entity(call, "chat_flow", row, fields)
    # TypeORM's save() runs no UPDATE when nothing changed and answers the loaded entity, which lacks
    # the never-selected webhookSecret (seen on 3.1.4: a repeated or empty update).
    return _saved_json(saved) if changed else chatflow_json(saved)


def _saved_json(row: dict[str, Any]) -> dict[str, Any]:
    """A saved chatflow as TypeORM's ``save()`` answers it: the ``webhookSecret`` column (never selected
    by reads) comes back too, null unless a secret was set."""
    return {**chatflow_json(row), "webhookSecret": None}


@operation("deleteChatflow")
async def delete_chatflow(call: Call) -> dict[str, Any]:
    chatflow_id = call.path["id"]
    affected = chatflows.delete_chatflow(call.db, chatflow_id, call.workspace_id)
    return delete_answer(call, affected, NOT_FOUND.format(id=chatflow_id),
                         where="chatflowsService.deleteChatflow")


@operation("getChatflowByApiKey")
async def get_chatflow_by_api_key(call: Call) -> list[dict[str, Any]] | dict[str, Any]:
    """Public: the chatflows bound to the key (``apikeyid`` = the key's id), plus the unbound ones unless
    ``keyonly``; Flowise orders them by name. An unknown key is a bare-text 401."""
    identity = call.state.keys.identify(call.path["apikey"])
    if identity is None:
        raise TextError(401, "Unauthorized")
    rows, total = chatflows.for_key(call.db, call.workspace_id, identity.key_id,
                                    key_only=bool(call.query.get("keyonly")),
                                    page=call.query.get("page"), limit=call.query.get("limit"))
    return paged(rows, total, chatflow_json)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@operation("checkIfChatflowHasChanged")
async def check_if_chatflow_has_changed(call: Call) -> dict[str, bool]:
    row = _load(call, "chatflowsService.checkIfChatflowHasChanged")
    try:
        given = _instant(call.path["lastUpdatedDateTime"])
    except ValueError as exc:
        raise FlowiseError(400, f"Invalid path parameter 'lastUpdatedDateTime': {exc}") from exc
    return {"hasChanged": _instant(row["updatedDate"]) > given}


@operation("checkIfChatflowIsValidForStreaming")
async def check_if_chatflow_is_valid_for_streaming(call: Call) -> dict[str, bool]:
    row = _load_public(call, "chatflowsService.checkIfChatflowIsValidForStreaming")
    if row.get("type") == "AGENTFLOW" and quirks.active(call, "agentflows-missing"):  # Flowise 2.2
        raise FlowiseError(500, "Error: chatflowsService.checkIfChatflowIsValidForStreaming - "
                                "Ending node must be either a Chain or Agent or Engine")
    return {"isStreaming": is_streaming(row)}


@operation("checkIfChatflowIsValidForUploads")
async def check_if_chatflow_is_valid_for_uploads(call: Call) -> dict[str, Any]:
    row = _load_public(call, "chatflowsService.checkIfChatflowIsValidForUploads")
    return uploads_config(row)


@operation("getSinglePublicChatbotConfig")
async def get_single_public_chatbot_config(call: Call) -> dict[str, Any]:
    """The widget's configuration: the chatbotConfig keys minus the origin allow-list (which is for the
    server, not for visitors), plus the computed ``uploads``, the sanitised ``flowData`` and TTS."""
    row = _load_public(call, "chatflowsService.getSinglePublicChatbotConfig")
    config = json_object(row.get("chatbotConfig"))
    config.pop("allowedOrigins", None)
    config.pop("allowedOriginsError", None)
    return {**config, "uploads": uploads_config(row), "flowData": public_flow_data(row),
            "isTTSEnabled": is_tts_enabled(row)}


@operation("getSinglePublicChatflow")
async def get_single_public_chatflow(call: Call) -> dict[str, Any] | JSONResponse:
    row = _load_public(call, "chatflowsService.getSinglePublicChatflow")
    if not row.get("isPublic"):
        if not versions.has(call.settings, "public-chatflow-refusal-body"):  # 2.2: the error handler's body
            raise FlowiseError(401, "Unauthorized")
        return JSONResponse({"message": "Unauthorized"}, status_code=401)
    return chatflow_json(row)
