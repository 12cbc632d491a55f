"""Upsert history: the records a vector upsert leaves behind, read per chatflow (or document store).

Flowise stores ``result`` and ``flowData`` as JSON text and parses both on the way out. A record's
``chatflowid`` is a chatflow id (``POST /vector/upsert/{id}``) or a document store id (the document
store's upsert), so the listing accepts either; anything else is 404, as the controller checks it before
the service (docs/resources.md#upsert-history). The delete route is ``PATCH /upsert-history`` with
``{"ids": [...]}``: the upstream documentation's ``PATCH /upsert-history/{id}`` does not exist.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
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
    known = records.exists(call.db, "chat_flow", owner, call.workspace_id) or \
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


@operation("patchDeleteUpsertHistory")
async def patch_delete_upsert_history(call: Call) -> dict[str, Any]:
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
