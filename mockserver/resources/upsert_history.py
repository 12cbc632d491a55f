"""Upsert history: the records a vector upsert leaves behind, read per chatflow (or document store).

Flowise stores ``result`` and ``flowData`` as JSON text and parses both on the way out. A record's
``chatflowid`` is a chatflow id (``POST /vector/upsert/{id}``) or a document store id (the document
store's upsert), so the listing accepts either; anything else is 404, as the controller checks it before
the service (docs/resources.md#upsert-history). The delete route is ``PATCH /upsert-history`` with
``{"ids": [...]}``: the upstream documentation's ``PATCH /upsert-history/{id}`` does not exist.

Under ``--quirks flowise-3.0`` / ``flowise-2.2`` neither route checks anything, as those lines' controllers
and service do: the listing answers the records stored under any id (``unknown-owner-empty-list``), and the
delete hands ``ids`` to TypeORM's ``delete`` as sent (``delete-missing-200`` there; ``_typeorm_delete``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.resources._shape import missing
from mockserver.store import records, upsert_history

__all__: list[str] = []


def _parse(text: str | None) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def _stamp(value: str) -> str:
    """A query date-time as the stored form (UTC, milliseconds, ``Z``) so text comparison orders correctly."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@operation("getAllUpsertHistory")
async def get_all_upsert_history(call: Call) -> list[dict[str, Any]]:
    owner = call.path["id"]
    known = active(call, "unknown-owner-empty-list") or \
        records.exists(call.db, "chat_flow", owner, call.workspace_id) or \
        records.exists(call.db, "document_store", owner, call.workspace_id)
    if not known:
        # Flowise checks this in the controller, outside the service's 500 wrapper: 404 there too.
        raise missing(call, f"Error: upsertHistoryController.getAllUpsertHistory - resource {owner} not found "
                            "in workspace!", where="upsertHistoryController.getAllUpsertHistory")
    rows = upsert_history.list_records(
        call.db, owner,
        start=_stamp(call.query["startDate"]) if "startDate" in call.query else None,
        end=_stamp(call.query["endDate"]) if "endDate" in call.query else None,
        descending=str(call.query.get("order", "ASC")).upper() == "DESC",
    )
    return [{**row, "result": _parse(row["result"]), "flowData": _parse(row["flowData"])} for row in rows]


_WHERE = "Error: upsertHistoryServices.patchDeleteUpsertHistory - "


def _primitive(value: Any) -> bool:
    """TypeORM's primitive criteria: a string or a number (``true`` is neither)."""
    return isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))


def _typeorm_delete(call: Call, criteria: Any) -> dict[str, Any]:
    """``repository.delete(ids)`` as 3.0.13 and 2.2.8 call it (typeorm 0.3.x ``EntityManager.delete``): ids
    (a string, a number or a list of them) are deleted where they exist, the others count for nothing; an
    object is a ``where`` on the entity's properties; an empty or other criteria is refused; every failure is
    the service's 500."""
    empty = FlowiseError(500, _WHERE + "Empty criteria(s) are not allowed for the delete method.")
    if criteria is None:  # the controller's `req.body.ids ?? []`
        criteria = []
    if _primitive(criteria) or (isinstance(criteria, list) and all(_primitive(item) for item in criteria)):
        ids = [criteria] if _primitive(criteria) else list(criteria)
        if criteria in ("", []):
            raise empty
        keys = [str(item) if isinstance(item, str) else json.dumps(item) for item in ids]
        return {"raw": [], "affected": upsert_history.delete_records(call.db, keys)}
    wheres = criteria if isinstance(criteria, list) else [criteria]
    if not wheres or any(not isinstance(where, dict) or not where for where in wheres):
        raise empty  # a boolean, an empty object, or a list mixing ids and objects renders no predicate
    for where in wheres:
        for key, value in where.items():
            if key not in upsert_history.COLUMNS:
                raise FlowiseError(500, _WHERE + f'Property "{key}" was not found in "UpsertHistory". '
                                                 "Make sure your query is correct.")
            if not _primitive(value):
                raise FlowiseError(500, _WHERE + f"unsupported criteria for {key}")  # the mock's words
    matches = [{key: str(value) for key, value in where.items()} for where in wheres]
    return {"raw": [], "affected": upsert_history.delete_matching(call.db, matches)}


@operation("patchDeleteUpsertHistory")
async def patch_delete_upsert_history(call: Call) -> dict[str, Any]:
    if active(call, "delete-missing-200"):  # 3.0 and 2.2: TypeORM's delete, unchecked
        return _typeorm_delete(call, (call.body or {}).get("ids") if isinstance(call.body, dict) else None)
    ids = list(dict.fromkeys((call.body or {}).get("ids") or []))
    if not ids:
        raise FlowiseError(400, "Error: upsertHistoryController.patchDeleteUpsertHistory - ids are required!")
    found = upsert_history.existing_ids(call.db, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise FlowiseError(404, f"Error: upsertHistoryServices.patchDeleteUpsertHistory - "
                                f"Upsert history {', '.join(missing)} not found")
    affected = upsert_history.delete_records(call.db, ids)
    return {"raw": [], "affected": affected}
