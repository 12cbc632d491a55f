"""Rows of any resource table by id and by workspace: read, insert, update, delete, list, count.

The statements every resource family shares have one shape, so they live here once; what only one family
does (a join, a filter Flowise's service adds) lives in that family's store module. Callers name a table
(``Table``, checked at run time too) and give plain values: no SQL leaves ``mockserver/store``. Column
names are Flowise's field names and reach SQL only after the schema has vouched for them
(``Database.check_columns``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from mockserver.store.db import Database, UnknownColumnError, page_window

__all__ = [
    "ORDERS",
    "TABLES",
    "Order",
    "Table",
    "count",
    "delete",
    "exists",
    "get",
    "insert",
    "list_in_workspace",
    "select_page",
    "update",
    "wipe_keeping",
]

#: The resource tables of ``schema.py`` (``mock_meta`` is the database's own, reached through ``Database.meta``).
Table = Literal["chat_flow", "chat_message", "chat_message_feedback", "lead", "execution", "variable", "tool",
                "assistant", "apikey", "credential", "document_store", "document_store_file_chunk",
                "upsert_history", "vector"]
TABLES: frozenset[str] = frozenset(get_args(Table))

#: How a listing is ordered: Flowise's usual newest-updated first, oldest-created first, or by name.
Order = Literal["updated-desc", "created-asc", "name-asc"]
ORDERS: dict[str, str] = {
    "updated-desc": '"updatedDate" DESC, rowid DESC',
    "created-asc": '"createdDate" ASC, rowid ASC',
    "name-asc": '"name" ASC, rowid ASC',
}


def _table(table: str) -> str:
    """``table`` once it is known to be one of the schema's (a name reaches SQL text, never a parameter)."""
    if table not in TABLES:
        raise UnknownColumnError(f"no table {table!r}")
    return table


def get(db: Database, table: Table, row_id: str) -> dict[str, Any] | None:
    """The row with this ``id`` (in any workspace: callers that care compare ``workspaceId``)."""
    return db.get(_table(table), row_id)


def exists(db: Database, table: Table, row_id: str, workspace_id: str) -> bool:
    """Is there a row with this ``id`` in the workspace?"""
    found = db.one(f'SELECT id FROM "{_table(table)}" WHERE id = ? AND workspaceId = ?', (row_id, workspace_id))
    return found is not None


def insert(db: Database, table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """Insert ``row`` (its keys are column names; ``UnknownColumnError`` for any other) and return it."""
    return db.insert(_table(table), row)


def update(db: Database, table: Table, row_id: str, changes: dict[str, Any]) -> int:
    """Set the columns of ``changes`` on the row ``row_id``; returns the rows changed (0 or 1)."""
    return db.update(_table(table), row_id, changes)


def delete(db: Database, table: Table, row_id: str, *, workspace_id: str | None = None) -> int:
    """Delete the row ``row_id`` (only in the workspace, when one is given); returns the rows deleted."""
    if workspace_id is None:
        return db.delete(_table(table), row_id)
    return db.execute(f'DELETE FROM "{_table(table)}" WHERE id = ? AND workspaceId = ?', (row_id, workspace_id))


def select_page(db: Database, table: Table, condition: str, params: Sequence[Any], order: Order, *,
                page: int | None = None, limit: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """For the store's modules: every row of ``table`` meeting ``condition`` (SQL written in ``store/``) in
    ``order``; with both ``page`` and ``limit``, one page of them and the total, else all and None."""
    sql = f'SELECT * FROM "{_table(table)}" WHERE {condition} ORDER BY {ORDERS[order]}'
    if page and limit:
        total = db.scalar(f'SELECT COUNT(*) FROM "{table}" WHERE {condition}', params)
        return db.query(f"{sql} LIMIT ? OFFSET ?", [*params, *page_window(page, limit)]), total
    return db.query(sql, params), None


def list_in_workspace(db: Database, table: Table, workspace_id: str, *, equal: Mapping[str, Any] | None = None,
                      order: Order = "updated-desc", page: int | None = None,
                      limit: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """The workspace's rows of ``table`` whose columns hold the values of ``equal``, in ``order``: all of them
    and None, or (with both ``page`` and ``limit``) one page and the total."""
    equal = equal or {}
    db.check_columns(_table(table), equal)
    condition = " AND ".join(["workspaceId = ?", *(f'"{column}" = ?' for column in equal)])
    return select_page(db, table, condition, [workspace_id, *equal.values()], order, page=page, limit=limit)


def count(db: Database, table: Table) -> int:
    """How many rows ``table`` holds, in every workspace."""
    return int(db.scalar(f'SELECT COUNT(*) FROM "{_table(table)}"') or 0)


def wipe_keeping(db: Database, table: Table) -> None:
    """Delete every row of every table except those of ``table`` (``POST /__mock/reset`` keeps the API keys)."""
    kept = db.query(f'SELECT * FROM "{_table(table)}"')
    db.wipe()
    with db.transaction():
        for row in kept:
            db.insert(table, row)
