"""Custom tools: CRUD over the ``tool`` table, listed newest first and paginated on request.

Flowise copies only ``name, description, color, iconSrc, schema, func`` from a request (anything else,
ids and dates included, is ignored), and answers the saved entity; the mock does the same.
"""

from __future__ import annotations

from typing import Any

from mockserver.operations import Call, operation
from mockserver.resources._shape import bump_date, delete_answer, listing, missing, new_id, saved_order, store_value
from mockserver.store.db import now_iso

WRITABLE = ("name", "description", "color", "iconSrc", "schema", "func")
GENERATED = ("workspaceId", "id", "createdDate", "updatedDate")


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: store_value(body[key], json_text=key == "schema") for key in WRITABLE if key in body}


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    return dict(row)


def _load(call: Call, where: str) -> dict[str, Any]:
    row = call.db.get("tool", call.path["id"])
    if row is None or row["workspaceId"] != call.workspace_id:
        raise missing(call, f"Tool {call.path['id']} not found", where=where)
    return row


@operation("getAllTools")
async def get_all_tools(call: Call) -> Any:
    return listing(call, "tool", _shape)


@operation("createTool")
async def create_tool(call: Call) -> Any:
    body = call.body or {}
    row = _fields(body)
    stamp = now_iso()
    row.update(workspaceId=call.workspace_id, id=new_id(), createdDate=stamp, updatedDate=stamp)
    call.db.insert("tool", row)
    call.state.extras["metrics"].count("tool_created")
    return saved_order([k for k in body if k in WRITABLE], _shape(call.db.get("tool", row["id"])), GENERATED)


@operation("getToolById")
async def get_tool_by_id(call: Call) -> Any:
    return _shape(_load(call, "toolsService.getToolById"))


@operation("updateTool")
async def update_tool(call: Call) -> Any:
    row = _load(call, "toolsService.updateTool")
    changes = _fields(call.body or {})
    changes["updatedDate"] = bump_date(row["updatedDate"])
    call.db.update("tool", row["id"], changes)
    return _shape(call.db.get("tool", row["id"]))


@operation("deleteTool")
async def delete_tool(call: Call) -> Any:
    tool_id = call.path["id"]
    affected = call.db.execute("DELETE FROM tool WHERE id = ? AND workspaceId = ?", (tool_id, call.workspace_id))
    return delete_answer(call, affected, f"Tool {tool_id} not found", where="toolsService.deleteTool")
