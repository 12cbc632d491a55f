"""Assistants: CRUD over the ``assistant`` table; ``details`` is a JSON **string**, as Flowise stores it.

Flowise parses ``details`` on create and update (a missing one is its 500 ``Invalid request body``; the
contract says 400 naming the field). ``OPENAI``/``AZURE`` assistants are also created at the provider
with the given credential; the mock has no provider, so every type is stored like a ``CUSTOM`` one and
``isDeleteBoth`` has nothing more to delete.
"""

from __future__ import annotations

import json
from typing import Any

from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.resources._shape import bump_date, delete_answer, listing, missing, new_id, saved_order, store_value
from mockserver.store.db import now_iso

WRITABLE = ("details", "credential", "iconSrc", "type")
GENERATED = ("workspaceId", "id", "createdDate", "updatedDate")


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = {key: store_value(body[key], json_text=key == "details") for key in WRITABLE if key in body}
    if "details" in fields:
        try:
            json.loads(fields["details"])
        except (TypeError, ValueError) as exc:
            raise FlowiseError(400, f"Invalid request body /details: not a JSON string ({exc})") from exc
    return fields


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    return dict(row)


def _load(call: Call, where: str) -> dict[str, Any]:
    row = call.db.get("assistant", call.path["id"])
    if row is None or row["workspaceId"] != call.workspace_id:
        raise missing(call, f"Assistant {call.path['id']} not found", where=where)
    return row


@operation("listAssistants")
async def list_assistants(call: Call) -> Any:
    assistant_type = call.query.get("type")
    order = "createdDate ASC, rowid ASC"
    if assistant_type:
        return listing(call, "assistant", _shape, where="type = ?", params=[assistant_type], order=order)
    return listing(call, "assistant", _shape, order=order)


@operation("createAssistant")
async def create_assistant(call: Call) -> Any:
    body = call.body or {}
    if not body.get("details"):
        raise FlowiseError(400, "Invalid request body /details: 'details' is a required property")
    row = _fields(body)
    stamp = now_iso()
    row.update(workspaceId=call.workspace_id, id=new_id(), createdDate=stamp, updatedDate=stamp)
    call.db.insert("assistant", row)
    call.state.extras["metrics"].count("assistant_created")
    return saved_order([k for k in body if k in WRITABLE], _shape(call.db.get("assistant", row["id"])), GENERATED)


@operation("getAssistantById")
async def get_assistant_by_id(call: Call) -> Any:
    return _shape(_load(call, "assistantsService.getAssistantById"))


@operation("updateAssistant")
async def update_assistant(call: Call) -> Any:
    row = _load(call, "assistantsService.updateAssistant")
    changes = _fields(call.body or {})
    changes["updatedDate"] = bump_date(row["updatedDate"])
    call.db.update("assistant", row["id"], changes)
    return _shape(call.db.get("assistant", row["id"]))


@operation("deleteAssistant")
async def delete_assistant(call: Call) -> Any:
    assistant_id = call.path["id"]
    affected = call.db.execute("DELETE FROM assistant WHERE id = ? AND workspaceId = ?",
                               (assistant_id, call.workspace_id))
    return delete_answer(call, affected, f"Assistant {assistant_id} not found",
                         where="assistantsService.deleteAssistant")
