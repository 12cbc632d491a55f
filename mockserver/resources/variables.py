"""Variables: create, list, update, delete (Flowise has no get-by-id route for them).

Flowise copies only ``name, value, type`` from a request. A row created without ``type`` holds the
column default ``string``. Deleting an unknown id is 404 by contract; the real server answers 200
``{"raw":[],"affected":0}`` (Flowise#3221, reproduced under ``--quirks``).
"""

from __future__ import annotations

from typing import Any

from mockserver.operations import Call, operation
from mockserver.resources._shape import bump_date, delete_answer, listing, missing, new_id, saved_order, store_value
from mockserver.store.db import now_iso

WRITABLE = ("name", "value", "type")
GENERATED = ("workspaceId", "id", "createdDate", "updatedDate")


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: store_value(body[key]) for key in WRITABLE if key in body}


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    return dict(row)


@operation("getAllVariables")
async def get_all_variables(call: Call) -> Any:
    return listing(call, "variable", _shape)


@operation("createVariable")
async def create_variable(call: Call) -> Any:
    body = call.body or {}
    row = _fields(body)  # without "type" the column default ("string") applies, as with TypeORM
    stamp = now_iso()
    row.update(workspaceId=call.workspace_id, id=new_id(), createdDate=stamp, updatedDate=stamp)
    call.db.insert("variable", row)
    return saved_order([k for k in body if k in WRITABLE], _shape(call.db.get("variable", row["id"])), GENERATED)


@operation("updateVariable")
async def update_variable(call: Call) -> Any:
    """Flowise answers an unknown id with 404 ``Variable not found in the database`` (as text/html; the
    spec documents the JSON error shape, which the mock sends in every mode)."""
    row = call.db.get("variable", call.path["id"])
    if row is None or row["workspaceId"] != call.workspace_id:
        raise missing(call, "Variable not found in the database", where="variablesService.updateVariable")
    changes = _fields(call.body or {})
    changes["updatedDate"] = bump_date(row["updatedDate"])
    call.db.update("variable", row["id"], changes)
    return _shape(call.db.get("variable", row["id"]))


@operation("deleteVariable")
async def delete_variable(call: Call) -> Any:
    variable_id = call.path["id"]
    affected = call.db.execute("DELETE FROM variable WHERE id = ? AND workspaceId = ?",
                               (variable_id, call.workspace_id))
    return delete_answer(call, affected, f"Variable {variable_id} not found",
                         where="variablesService.deleteVariable")
