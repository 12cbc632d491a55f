"""Feedback on chat messages (``chat_message_feedback``, one row per message): what only its routes ask.
Inserting, reading one and updating go through ``records``; the list joined to messages is ``chatmessages``'."""

from __future__ import annotations

from typing import Any

from mockserver.store.db import Database

__all__ = ["COLUMNS", "feedback_of_message", "list_feedback"]

#: Flowise's entity order, the order of the keys in a listed feedback.
COLUMNS = ("chatflowid", "chatId", "messageId", "rating", "content", "id", "createdDate")


def feedback_of_message(db: Database, message_id: str) -> str | None:
    """The id of the message's feedback, if it has one."""
    row = db.one("SELECT id FROM chat_message_feedback WHERE messageId = ?", (message_id,))
    return None if row is None else str(row["id"])


def list_feedback(db: Database, chatflow_id: str, *, chat_id: str | None = None, start: str | None = None,
                  end: str | None = None, descending: bool = False) -> list[dict[str, Any]]:
    """A chatflow's feedback (of one chat, created between ``start`` and ``end`` when given, both in the stored
    form), oldest first unless ``descending``."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM chat_message_feedback WHERE chatflowid = ?"
    params: list[Any] = [chatflow_id]
    if chat_id:
        sql += " AND chatId = ?"
        params.append(chat_id)
    for value, op in ((start, ">="), (end, "<=")):
        if value is not None:
            sql += f" AND createdDate {op} ?"
            params.append(value)
    direction = "DESC" if descending else "ASC"
    return db.query(f"{sql} ORDER BY createdDate {direction}, rowid {direction}", params)
