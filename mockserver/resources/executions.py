"""Agentflow executions: the record of each agentflow run, which predictions write (``llm/exchange.py``).

Flowise's routes (``routes/executions``, ``services/executions``) list, read, update and delete them; the
list answers ``{data, total}`` newest-updated first with each execution's ``agentflow`` joined (null once
the agentflow is gone: deleting an agentflow leaves its executions), paged by ``page`` (default 1) and
``limit`` (default 12). An update merges the body into the row and answers the saved row; a delete also
sets the ``executionId`` of the run's chat messages to null. ``GET /public-executions/{id}`` needs no key
and answers only an execution whose ``isPublic`` is true, its ``executionData`` without the nodes'
credential ids (docs/agentflows.md#executions).

Under ``--quirks flowise-3.1``: unknown ids answer Flowise's wrapped 500 (``missing-id-500``), deleting an
unknown id answers 200 ``deletedCount: 0`` (``delete-missing-200``), and the bulk delete without ids
answers the controller's own 400 body (``executions-delete-error-shape``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse

from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.resources._shape import as_bool, bump_date, chatflow_json, missing
from mockserver.store import executions, records
from mockserver.store.db import json_value, to_json_text

__all__: list[str] = []

#: Flowise's Execution entity order, the order of the keys in its answers.
COLUMNS = ("id", "executionData", "state", "agentflowId", "sessionId", "action", "isPublic", "createdDate",
           "updatedDate", "stoppedDate", "workspaceId")
#: The states the list filter knows; any other ``state`` value is ignored, as Flowise's controller does.
STATES = frozenset({"INPROGRESS", "FINISHED", "ERROR", "TERMINATED", "TIMEOUT", "STOPPED"})
#: Columns an update never changes here: the row's identity and its workspace (Flowise would copy the
#: row under a new id, or move it out of the caller's reach).
_FIXED = frozenset({"id", "workspaceId"})
_NO_IDS = "No execution IDs provided"


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    out = {column: row.get(column) for column in COLUMNS}
    out["isPublic"] = as_bool(out["isPublic"])
    return out


def _stamp(value: Any) -> str | None:
    """A query date as the stored form (UTC, milliseconds, ``Z``); None when it does not parse (Flowise's
    ``new Date(...)`` is then an invalid date, which filters nothing)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(call: Call, name: str, default: int) -> int:
    value = call.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        # parseInt gives NaN, which TypeORM refuses when it builds the query.
        raise FlowiseError(500, 'Error: executionsService.getAllExecutions - Provided "skip" value is not a '
                                "number. Please provide a numeric value.") from None


def _load(call: Call, where: str) -> dict[str, Any]:
    execution_id = call.path["id"]
    row = records.get(call.db, "execution", execution_id)
    if row is None or row["workspaceId"] != call.workspace_id:
        raise missing(call, f"Execution {execution_id} not found", where=where)
    return row


def _without_credential_ids(value: Any) -> Any:
    """Flowise's ``_removeCredentialId``: every ``FLOWISE_CREDENTIAL_ID`` key, at any depth, dropped."""
    if isinstance(value, list):
        return [_without_credential_ids(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_credential_ids(item) for key, item in value.items() if key != "FLOWISE_CREDENTIAL_ID"}
    return value


@operation("getAllExecutions")
async def get_all_executions(call: Call) -> dict[str, Any]:
    query = call.query

    def text(name: str) -> str | None:
        return str(query[name]) if query.get(name) else None

    def stamp(name: str) -> str | None:
        return _stamp(query[name]) if query.get(name) else None

    flt = executions.ExecutionFilter(
        id=text("id"), agentflow_id=text("agentflowId"), session_id=text("sessionId"),
        agentflow_name=text("agentflowName"), state=query["state"] if query.get("state") in STATES else None,
        start_date=stamp("startDate"), end_date=stamp("endDate"),
    )
    page, limit = _number(call, "page", 1), _number(call, "limit", 12)
    rows, total = executions.list_executions(call.db, call.workspace_id, flt, page=page, limit=limit)
    data = []
    for row in rows:
        agentflow = records.get(call.db, "chat_flow", row["agentflowId"])
        data.append({**_shape(row), "agentflow": chatflow_json(agentflow) if agentflow is not None else None})
    return {"data": data, "total": total}


@operation("getExecutionById")
async def get_execution_by_id(call: Call) -> dict[str, Any]:
    return _shape(_load(call, "executionsService.getExecutionById"))


@operation("updateExecution")
async def update_execution(call: Call) -> dict[str, Any]:
    row = _load(call, "executionsService.updateExecution")
    body = call.body if isinstance(call.body, dict) else {}
    sent = {key: value for key, value in body.items() if key in COLUMNS and key not in _FIXED}
    stored = {key: int(value) if isinstance(value, bool) else to_json_text(value) if isinstance(value, dict | list)
              else value for key, value in sent.items()}
    stamp = bump_date(row["updatedDate"])
    records.update(call.db, "execution", row["id"], {**stored, "updatedDate": stamp})
    # TypeORM's save() answers the merged entity: the values as sent, not as the column stored them.
    return {**_shape({**row, **stored}), **sent, "updatedDate": stamp}


def _delete(call: Call, ids: list[str]) -> int:
    return executions.delete_executions(call.db, ids, call.workspace_id)


@operation("deleteExecution")
async def delete_execution(call: Call) -> dict[str, Any]:
    execution_id = call.path["id"]
    deleted = _delete(call, [execution_id])
    if deleted == 0 and not active(call, "delete-missing-200"):
        raise missing(call, f"Execution {execution_id} not found", where="executionsService.deleteExecutions")
    return {"success": True, "deletedCount": deleted}


@operation("deleteExecutions")
async def delete_executions(call: Call) -> Any:
    body = call.body if isinstance(call.body, dict) else {}
    ids = body.get("executionIds")
    if not isinstance(ids, list):
        if active(call, "executions-delete-error-shape"):
            return JSONResponse({"success": False, "message": _NO_IDS}, status_code=400)
        raise FlowiseError(400, _NO_IDS)
    # Values that are not text name no execution (Flowise's IN (...) matches none of them).
    return {"success": True, "deletedCount": _delete(call, [value for value in ids if isinstance(value, str)])}


@operation("getPublicExecutionById")
async def get_public_execution_by_id(call: Call) -> dict[str, Any]:
    execution_id = call.path["id"]
    row = executions.public_execution(call.db, execution_id)
    if row is None:
        raise missing(call, f"Execution {execution_id} not found", where="executionsService.getPublicExecutionById")
    executed = json_value(row["executionData"], [])
    data = json.dumps(_without_credential_ids(executed), separators=(",", ":"), ensure_ascii=False)
    return {**_shape(row), "executionData": data}
