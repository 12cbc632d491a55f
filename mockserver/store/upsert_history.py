"""Upsert history: the record each vector upsert leaves (``chatflowid`` is a chatflow id, or a document
store id for a document store's upsert); ``result`` and ``flowData`` are JSON text, as Flowise stores them."""

from __future__ import annotations

from typing import Any

from mockserver.store.chatmessages import dump_json
from mockserver.store.db import Database, new_id, now_iso

__all__ = ["COLUMNS", "add_record", "delete_matching", "delete_records", "existing_ids", "list_records"]

#: The columns of ``upsert_history`` (TypeORM's entity properties).
COLUMNS = ("id", "chatflowid", "result", "flowData", "date")


def add_record(db: Database, owner_id: str, result: Any, flow_data: Any) -> dict[str, Any]:
    """Add a record of an upsert into ``owner_id`` (``JSON.stringify`` of both values) and return the row."""
    row = {"id": new_id(), "chatflowid": owner_id, "result": dump_json(result), "flowData": dump_json(flow_data),
           "date": now_iso()}
    db.insert("upsert_history", row)
    return row


def list_records(db: Database, owner_id: str, *, start: str | None = None, end: str | None = None,
                 descending: bool = False) -> list[dict[str, Any]]:
    """The records of ``owner_id`` (dated between ``start`` and ``end`` when given, in the stored form),
    oldest first unless ``descending``; ``result`` and ``flowData`` still text."""
    sql = 'SELECT id, chatflowid, result, flowData, date FROM "upsert_history" WHERE chatflowid = ?'
    params: list[Any] = [owner_id]
    if start is not None:
        sql += " AND date >= ?"
        params.append(start)
    if end is not None:
        sql += " AND date <= ?"
        params.append(end)
    direction = "DESC" if descending else "ASC"
    sql += f" ORDER BY date {direction}, rowid {direction}"
    return db.query(sql, params)


def existing_ids(db: Database, ids: list[str]) -> set[str]:
    """Which of ``ids`` name a record."""
    marks = ", ".join("?" for _ in ids)
    return {r["id"] for r in db.query(f'SELECT id FROM "upsert_history" WHERE id IN ({marks})', ids)}


def delete_records(db: Database, ids: list[str]) -> int:
    """Delete the records of ``ids``; returns how many there were."""
    marks = ", ".join("?" for _ in ids)
    return db.execute(f'DELETE FROM "upsert_history" WHERE id IN ({marks})', ids)


def delete_matching(db: Database, wheres: list[dict[str, str]]) -> int:
    """Delete the records that match any of ``wheres`` (each: column -> value, all of them equal; TypeORM's
    ``delete`` with ``where`` objects); returns how many there were."""
    if not wheres or not all(wheres):
        raise ValueError("every where needs a column")
    for where in wheres:
        unknown = set(where) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown upsert_history columns: {', '.join(sorted(unknown))}")
    clauses = [" AND ".join(f'"{key}" = ?' for key in where) for where in wheres]
    params = [value for where in wheres for value in where.values()]
    return db.execute('DELETE FROM "upsert_history" WHERE ' + " OR ".join(f"({c})" for c in clauses), params)
