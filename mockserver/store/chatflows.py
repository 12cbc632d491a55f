"""Chatflows: what only the ``chat_flow`` table is asked (the rows an API key reaches, the delete that takes
what hangs off a chatflow with it); plain reads and writes go through ``records``."""

from __future__ import annotations

from typing import Any

from mockserver.store import records, vectors
from mockserver.store.db import Database

__all__ = ["bound_to_key", "delete_chatflow", "for_key"]

#: Rows that belong to a chatflow and go with it (table, chatflow column).
_DEPENDENTS = (("chat_message", "chatflowid"), ("chat_message_feedback", "chatflowid"), ("lead", "chatflowid"),
               ("upsert_history", "chatflowid"))


def delete_chatflow(db: Database, chatflow_id: str, workspace_id: str) -> int:
    """Delete the workspace's chatflow and, when there was one, its messages, feedback, leads, upsert history
    and vectors, in one commit (as Flowise does, so a new chatflow never inherits old rows); returns 0 or 1."""
    with db.transaction():
        affected = db.execute('DELETE FROM chat_flow WHERE id = ? AND workspaceId = ?', (chatflow_id, workspace_id))
        if affected:
            for table, column in _DEPENDENTS:
                db.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', (chatflow_id,))
            vectors.delete_namespace(db, chatflow_id)
    return affected


def for_key(db: Database, workspace_id: str, key_id: str, *, key_only: bool, page: int | None = None,
            limit: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """The workspace's chatflows bound to the key, plus the unbound ones unless ``key_only``, by name (a page
    and the total with both ``page`` and ``limit``, as ``records.list_in_workspace``)."""
    condition = "apikeyid = ?"
    if not key_only:
        condition += " OR apikeyid IS NULL OR apikeyid = ''"
    return records.select_page(db, "chat_flow", f"workspaceId = ? AND ({condition})", [workspace_id, key_id],
                               "name-asc", page=page, limit=limit)


def bound_to_key(db: Database, key_id: str) -> list[dict[str, Any]]:
    """``name``, ``category`` and ``updatedDate`` of the chatflows bound to the key, oldest first."""
    return db.query("SELECT name, category, updatedDate FROM chat_flow WHERE apikeyid = ? ORDER BY rowid", (key_id,))
