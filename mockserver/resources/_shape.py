"""Row → JSON helpers shared by the resource families (not a handler module: the underscore keeps it out
of the auto-import in ``resources/__init__``).

Rows come out of SQLite with Flowise's field names already, so shaping is mostly about the few things
SQLite cannot say: booleans (stored as integers), key order (Flowise's ``save()`` answers the fields sent
first, then the generated ones), pagination (``{data, total}`` only when both ``page`` and ``limit`` are
given) and the not-found/delete answers, whose real-server deviation is read from the operation's
``x-flowise-upstream`` notes so the spec stays the single place that says which family misbehaves how.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from mockserver import quirks
from mockserver.errors import FlowiseError
from mockserver.store import records
from mockserver.store.db import new_id, now_iso, to_json_text

if TYPE_CHECKING:
    from mockserver.operations import Call

__all__ = [
    "CHATFLOW_BOOLS",
    "as_bool",
    "bump_date",
    "chatflow_json",
    "delete_answer",
    "insert_entity",
    "listing",
    "load_entity",
    "missing",
    "new_id",
    "paged",
    "saved_order",
    "store_value",
    "update_entity",
]

Shape = Callable[[dict[str, Any]], dict[str, Any]]


def as_bool(value: Any) -> bool | None:
    """A boolean column as Flowise serialises it: SQLite's 0/1 become false/true, NULL stays null."""
    return None if value is None else bool(value)


#: chat_flow's boolean columns (SQLite integers).
CHATFLOW_BOOLS = ("deployed", "isPublic", "webhookSecretConfigured")


def chatflow_json(row: dict[str, Any]) -> dict[str, Any]:
    """A ``chat_flow`` row as Flowise answers it: every column, in entity order, booleans as JSON booleans."""
    return {key: as_bool(value) if key in CHATFLOW_BOOLS else value for key, value in row.items()}


def store_value(value: Any, *, json_text: bool = False) -> Any:
    """A request value as it is stored: booleans as integers, JSON columns as text (objects serialised)."""
    if isinstance(value, bool):
        return int(value)
    if json_text:
        return to_json_text(value)
    return value


def bump_date(previous: str | None) -> str:
    """A new ``updatedDate`` strictly after ``previous``: two writes in the same millisecond must still
    order (newest-first lists) and must still count as a change (``has-changed``)."""
    stamp = now_iso()
    if previous and stamp <= previous:
        try:
            before = datetime.fromisoformat(previous.replace("Z", "+00:00"))
        except ValueError:
            return stamp
        later = before.astimezone(UTC) + timedelta(milliseconds=1)
        stamp = later.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return stamp


def saved_order(sent: Iterable[str], entity: dict[str, Any], generated: Sequence[str]) -> dict[str, Any]:
    """The key order of a TypeORM ``save()`` answer: the fields the client sent, then ``generated``
    (workspaceId, id, dates), then every other column."""
    out: dict[str, Any] = {}
    for key in [*sent, *generated, *entity]:
        if key in entity and key not in out:
            out[key] = entity[key]
    return out


def missing(call: Call, message: str, *, where: str) -> FlowiseError:
    """The error for an unknown id (see ``quirks.not_found``)."""
    return quirks.not_found(call, message, where=where)


def delete_answer(call: Call, affected: int, message: str, *, where: str) -> dict[str, Any]:
    """``{"raw": [], "affected": n}`` (see ``quirks.deleted``)."""
    return quirks.deleted(call, affected, message, where=where)


def listing(call: Call, table: records.Table, shape: Shape, *, equal: Mapping[str, Any] | None = None,
            order: records.Order = "updated-desc") -> list[dict[str, Any]] | dict[str, Any]:
    """The workspace's rows of ``table`` (those whose columns hold the values of ``equal``): a plain array,
    or ``{data, total}`` when ``page`` and ``limit`` are both given (Flowise paginates only then)."""
    rows, total = records.list_in_workspace(call.db, table, call.workspace_id, equal=equal, order=order,
                                            page=call.query.get("page"), limit=call.query.get("limit"))
    return paged(rows, total, shape)


def paged(rows: list[dict[str, Any]], total: int | None, shape: Shape) -> list[dict[str, Any]] | dict[str, Any]:
    """Shaped ``rows``: ``{data, total}`` for a page (a ``total`` is given), else a plain array."""
    if total is not None:
        return {"data": [shape(row) for row in rows], "total": total}
    return [shape(row) for row in rows]


#: What the server fills in on every insert, in the order TypeORM's ``save()`` answers them.
GENERATED = ("workspaceId", "id", "createdDate", "updatedDate")


def load_entity(call: Call, table: records.Table, message: str, *, where: str) -> dict[str, Any]:
    """The row of the path's ``id`` in the caller's workspace, or the family's not-found error."""
    row = records.get(call.db, table, call.path["id"])
    if row is None or row["workspaceId"] != call.workspace_id:
        raise missing(call, message.format(id=call.path["id"]), where=where)
    return row


def insert_entity(call: Call, table: records.Table, fields: dict[str, Any], sent: Iterable[str]) -> dict[str, Any]:
    """Insert ``fields`` plus the generated columns; answer the stored row in ``save()`` order."""
    stamp = now_iso()
    row = {**fields, "workspaceId": call.workspace_id, "id": new_id(), "createdDate": stamp, "updatedDate": stamp}
    records.insert(call.db, table, row)
    stored = records.get(call.db, table, row["id"])
    assert stored is not None  # written just above
    return saved_order([key for key in sent if key in fields], stored, GENERATED)


def update_entity(call: Call, table: records.Table, row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` with a fresh ``updatedDate``; answer the stored row."""
    records.update(call.db, table, row["id"], {**changes, "updatedDate": bump_date(row["updatedDate"])})
    return cast("dict[str, Any]", records.get(call.db, table, row["id"]))
