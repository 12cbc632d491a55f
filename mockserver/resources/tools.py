"""Custom tools: CRUD over the ``tool`` table, listed newest first and paginated on request.

Flowise copies only ``name, description, color, iconSrc, schema, func`` from a request (anything else,
ids and dates included, is ignored), and answers the saved entity; the mock does the same.
"""

from __future__ import annotations

from typing import Any

from mockserver.operations import Call, operation
from mockserver.resources._shape import (
    delete_answer,
    insert_entity,
    listing,
    load_entity,
    store_value,
    update_entity,
)
from mockserver.store import records

WRITABLE = ("name", "description", "color", "iconSrc", "schema", "func")
NOT_FOUND = "Tool {id} not found"


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: store_value(body[key], json_text=key == "schema") for key in WRITABLE if key in body}


@operation("getAllTools")
async def get_all_tools(call: Call) -> list[dict[str, Any]] | dict[str, Any]:
    return listing(call, "tool", dict)


@operation("createTool")
async def create_tool(call: Call) -> dict[str, Any]:
    body = call.body or {}
    saved = insert_entity(call, "tool", _fields(body), body)
    call.state.metrics.count("tool_created")
    return saved


@operation("getToolById")
async def get_tool_by_id(call: Call) -> dict[str, Any]:
    return load_entity(call, "tool", NOT_FOUND, where="toolsService.getToolById")


@operation("updateTool")
async def update_tool(call: Call) -> dict[str, Any]:
    row = load_entity(call, "tool", NOT_FOUND, where="toolsService.updateTool")
    return update_entity(call, "tool", row, _fields(call.body or {}))


@operation("deleteTool")
async def delete_tool(call: Call) -> dict[str, Any]:
    tool_id = call.path["id"]
    affected = records.delete(call.db, "tool", tool_id, workspace_id=call.workspace_id)
    return delete_answer(call, affected, NOT_FOUND.format(id=tool_id), where="toolsService.deleteTool")
