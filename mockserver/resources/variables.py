"""Variables: create, list, update, delete (Flowise has no get-by-id route for them).

Flowise copies only ``name, value, type`` from a request. A row created without ``type`` holds the
column default ``string``. Deleting an unknown id is 404 by contract; the real server answers 200
``{"raw":[],"affected":0}`` (Flowise#3221, reproduced under ``--quirks``).
"""

from __future__ import annotations

from typing import Any

from mockserver.operations import Call, operation
from mockserver.resources._shape import delete_answer, insert_entity, listing, load_entity, update_entity
from mockserver.store import records

WRITABLE = ("name", "value", "type")


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in WRITABLE if key in body}


@operation("getAllVariables")
async def get_all_variables(call: Call) -> list[dict[str, Any]] | dict[str, Any]:
    return listing(call, "variable", dict)


@operation("createVariable")
async def create_variable(call: Call) -> dict[str, Any]:
    body = call.body or {}
    return insert_entity(call, "variable", _fields(body), body)


@operation("updateVariable")
async def update_variable(call: Call) -> dict[str, Any]:
    """Flowise answers an unknown id with 404 ``Variable not found in the database`` as text/html
    (deviation ``not-found-text``, reproduced under quirks); the contract is the JSON error."""
    row = load_entity(call, "variable", "Variable not found in the database",
                      where="variablesService.updateVariable")
    return update_entity(call, "variable", row, _fields(call.body or {}))


@operation("deleteVariable")
async def delete_variable(call: Call) -> dict[str, Any]:
    variable_id = call.path["id"]
    affected = records.delete(call.db, "variable", variable_id, workspace_id=call.workspace_id)
    return delete_answer(call, affected, f"Variable {variable_id} not found",
                         where="variablesService.deleteVariable")
