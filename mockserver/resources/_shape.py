"""Row → JSON helpers shared by the resource families (not a handler module: the underscore keeps it out
of the auto-import in ``resources/__init__``).

Rows come out of SQLite with Flowise's field names already, so shaping is mostly about the few things
SQLite cannot say: booleans (stored as integers), key order (Flowise's ``save()`` answers the fields sent
first, then the generated ones), pagination (``{data, total}`` only when both ``page`` and ``limit`` are
given) and the not-found/delete answers, whose real-server deviation is read from the operation's
``x-flowise-upstream`` notes so the spec stays the single place that says which family misbehaves how.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from mockserver import quirks
from mockserver.errors import FlowiseError
from mockserver.store.db import new_id, now_iso, page_window, to_json_text

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


def listing(call: Call, table: str, shape: Shape, *, where: str = "", params: Sequence[Any] = (),
            order: str = "updatedDate DESC, rowid DESC") -> list[dict[str, Any]] | dict[str, Any]:
    """The workspace's rows of ``table``: a plain array, or ``{data, total}`` when ``page`` and ``limit``
    are both given (Flowise paginates only then)."""
    condition = "workspaceId = ?" + (f" AND ({where})" if where else "")
    args = [call.workspace_id, *params]
    sql = f'SELECT * FROM "{table}" WHERE {condition} ORDER BY {order}'
    page, limit = call.query.get("page"), call.query.get("limit")
    if page and limit:
        total = call.db.scalar(f'SELECT COUNT(*) FROM "{table}" WHERE {condition}', args)
        rows = call.db.query(f"{sql} LIMIT ? OFFSET ?", [*args, *page_window(page, limit)])
        return {"data": [shape(row) for row in rows], "total": total}
    return [shape(row) for row in call.db.query(sql, args)]


#: What the server fills in on every insert, in the order TypeORM's ``save()`` answers them.
GENERATED = ("workspaceId", "id", "createdDate", "updatedDate")


def load_entity(call: Call, table: str, message: str, *, where: str) -> dict[str, Any]:
    """The row of the path's ``id`` in the caller's workspace, or the family's not-found error."""
    row = call.db.get(table, call.path["id"])
    if row is None or row["workspaceId"] != call.workspace_id:
        raise missing(call, message.format(id=call.path["id"]), where=where)
    return row


def insert_entity(call: Call, table: str, fields: dict[str, Any], sent: Iterable[str]) -> dict[str, Any]:
    """Insert ``fields`` plus the generated columns; answer the stored row in ``save()`` order."""
    stamp = now_iso()
    row = {**fields, "workspaceId": call.workspace_id, "id": new_id(), "createdDate": stamp, "updatedDate": stamp}
    call.db.insert(table, row)
    stored = call.db.get(table, row["id"])
    assert stored is not None  # written just above
    return saved_order([key for key in sent if key in fields], stored, GENERATED)


def update_entity(call: Call, table: str, row: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply ``changes`` with a fresh ``updatedDate``; answer the stored row."""
    call.db.update(table, row["id"], {**changes, "updatedDate": bump_date(row["updatedDate"])})
    return cast("dict[str, Any]", call.db.get(table, row["id"]))
