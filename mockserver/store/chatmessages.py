"""Chat messages: the rows a prediction writes and ``/chatmessage/{id}`` reads and deletes.

Rows use Flowise's ``chat_message`` columns; JSON columns hold text exactly as Flowise stores it
(``JSON.stringify`` output). ``seq`` orders messages written in the same millisecond (a question and its
answer often are). Reading parses the JSON columns Flowise's controller parses (not ``followUpPrompts``),
joins the agentflow ``execution`` and, on request, each message's ``feedback``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from mockserver.store.db import Database, new_id, now_iso

__all__ = [
    "MESSAGE_COLUMNS",
    "MessageFilter",
    "add_messages",
    "clear_last_action",
    "delete_messages",
    "dump_json",
    "list_messages",
    "message_chat",
    "session_messages",
]

#: Flowise's entity order, which is also the order of the keys in its JSON answers.
MESSAGE_COLUMNS = (
    "id", "role", "chatflowid", "executionId", "content", "sourceDocuments", "usedTools", "fileAnnotations",
    "agentReasoning", "reasonContent", "fileUploads", "artifacts", "action", "chatType", "chatId", "memoryType",
    "sessionId", "createdDate", "leadEmail", "followUpPrompts",
)
_PARSED = ("sourceDocuments", "usedTools", "fileAnnotations", "agentReasoning", "reasonContent", "fileUploads",
           "action", "artifacts")


def dump_json(value: Any) -> str | None:
    """``JSON.stringify`` as Flowise stores JSON columns (compact, non-ASCII kept); ``None`` stays NULL."""
    if value is None:
        return None
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def add_messages(db: Database, *messages: dict[str, Any]) -> list[dict[str, Any]]:
    """Insert messages in order, in one statement (so all or none are stored); ``id``, ``createdDate`` and
    ``seq`` are filled in when absent. Returns the rows."""
    rows = []
    for fields in messages:
        row = {column: fields.get(column) for column in MESSAGE_COLUMNS}
        row["id"] = row["id"] or new_id()
        row["createdDate"] = row["createdDate"] or now_iso()
        row["chatType"] = row["chatType"] or "EXTERNAL"
        row["content"] = row["content"] or ""
        rows.append(row)
    db.execute(_insert_sql(len(rows)), [value for row in rows for value in row.values()])
    return rows


def clear_last_action(db: Database, *, chatflow_id: str, chat_id: str, session_id: str) -> None:
    """A human answered: the newest message of the conversation that still offers an ``action`` stops offering it."""
    db.execute(
        'UPDATE "chat_message" SET action = NULL WHERE id = (SELECT id FROM "chat_message" WHERE chatflowid = ? '
        "AND (chatId = ? OR sessionId = ?) AND action IS NOT NULL ORDER BY seq DESC LIMIT 1)",
        (chatflow_id, chat_id, session_id),
    )


def session_messages(db: Database, *, chatflow_id: str, session_id: str) -> list[dict[str, Any]]:
    """``role`` and ``content`` of one session's messages of one chatflow, oldest first (a memory's history)."""
    return db.query(
        'SELECT role, content FROM "chat_message" WHERE chatflowid = ? AND sessionId = ? '
        "ORDER BY seq, createdDate",
        (chatflow_id, session_id),
    )


def message_chat(db: Database, message_id: str) -> dict[str, Any] | None:
    """``id``, ``chatflowid`` and ``chatId`` of a message (what its feedback is checked against)."""
    return db.one("SELECT id, chatflowid, chatId FROM chat_message WHERE id = ?", (message_id,))


@functools.cache
def _insert_sql(count: int) -> str:
    """``seq`` comes from the table itself: each row lands after every stored one, in the given order."""
    marks = ", ".join("?" for _ in MESSAGE_COLUMNS)
    values = ", ".join(f'({marks}, (SELECT COALESCE(MAX(seq), 0) FROM "chat_message") + {n})'
                       for n in range(1, count + 1))
    columns = ", ".join(f'"{c}"' for c in MESSAGE_COLUMNS)
    return f'INSERT INTO "chat_message" ({columns}, "seq") VALUES {values}'


@dataclass
class MessageFilter:
    """The query filters of ``GET``/``DELETE /chatmessage/{id}`` (all optional)."""

    chat_types: list[str] | None = None
    order: str = "ASC"
    chat_id: str | None = None
    memory_type: str | None = None
    session_id: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    message_id: str | None = None
    feedback_types: list[str] | None = None
    page: int | None = None
    limit: int | None = None

    def where(self, chatflow_id: str) -> tuple[str, list[Any]]:
        clauses, params = ["m.chatflowid = ?"], [chatflow_id]
        for column, value in (("chatId", self.chat_id), ("memoryType", self.memory_type),
                              ("sessionId", self.session_id), ("id", self.message_id)):
            if value:
                clauses.append(f"m.{column} = ?")
                params.append(value)
        if self.chat_types:
            clauses.append(f"m.chatType IN ({', '.join('?' for _ in self.chat_types)})")
            params.extend(self.chat_types)
        if self.start_date:
            clauses.append("m.createdDate >= ?")
            params.append(_day_edge(self.start_date, end=False))
        if self.end_date:
            clauses.append("m.createdDate <= ?")
            params.append(_day_edge(self.end_date, end=True))
        return " AND ".join(clauses), params


def _day_edge(value: str, *, end: bool) -> str:
    """Flowise widens date filters to the whole day (``setDateToStartOrEndOfDay``)."""
    day = value.strip()[:10]
    return f"{day}T23:59:59.999Z" if end else f"{day}T00:00:00.000Z"


def _select(db: Database, chatflow_id: str, flt: MessageFilter) -> list[dict[str, Any]]:
    where, params = flt.where(chatflow_id)
    direction = "DESC" if str(flt.order).upper() == "DESC" else "ASC"
    columns = ", ".join(f"m.{c}" for c in MESSAGE_COLUMNS)
    rows = db.query(
        f'SELECT {columns}, f.rating AS _rating FROM "chat_message" m '
        'LEFT JOIN "chat_message_feedback" f ON f.messageId = m.id '
        f"WHERE {where} ORDER BY m.seq {direction}, m.createdDate {direction}",
        params,
    )
    if flt.feedback_types:
        rows = _with_feedback_types(rows, flt.feedback_types)
    for row in rows:
        row.pop("_rating", None)
    return rows


def _with_feedback_types(rows: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    """Answers rated with one of ``wanted``, each with the question that came just before it."""
    keep: set[str] = set()
    previous_user: dict[str, str] = {}
    ordered = sorted(rows, key=lambda r: (r["createdDate"], r["role"] != "userMessage"))
    for row in ordered:
        if row["role"] == "userMessage":
            previous_user[row["chatId"]] = row["id"]
        elif row.get("_rating") in wanted:
            keep.add(row["id"])
            if row["chatId"] in previous_user:
                keep.add(previous_user[row["chatId"]])
    return [row for row in rows if row["id"] in keep]


def _parse(row: dict[str, Any]) -> dict[str, Any]:
    for column in _PARSED:
        value = row.get(column)
        if isinstance(value, str) and value:
            try:
                row[column] = json.loads(value)
            except ValueError:
                pass  # not JSON after all: Flowise would 500; the mock shows the text
    return row


#: Flowise's Execution entity order, the order of the keys of a message's ``execution``.
_EXECUTION_COLUMNS = ("id", "executionData", "state", "agentflowId", "sessionId", "action", "isPublic", "createdDate",
                      "updatedDate", "stoppedDate", "workspaceId")


def _execution(db: Database, execution_id: str | None) -> dict[str, Any] | None:
    if not execution_id:
        return None
    row = db.get("execution", execution_id)
    if row is None:
        return None
    if row.get("isPublic") is not None:
        row["isPublic"] = bool(row["isPublic"])
    return {column: row.get(column) for column in _EXECUTION_COLUMNS}


def list_messages(db: Database, chatflow_id: str, flt: MessageFilter, *, feedback: bool = False) -> list[dict[str, Any]]:
    """The chatflow's messages matching ``flt``, shaped as ``GET /chatmessage/{id}`` answers them."""
    rows = _select(db, chatflow_id, flt)
    if flt.page and flt.limit and flt.page > 0 and flt.limit > 0:
        rows = rows[(flt.page - 1) * flt.limit : flt.page * flt.limit]
    out = []
    for row in rows:
        shaped = _parse(row)
        shaped["execution"] = _execution(db, row.get("executionId"))
        if feedback:
            shaped["feedback"] = db.one('SELECT * FROM "chat_message_feedback" WHERE messageId = ?', (row["id"],))
        out.append(shaped)
    return out


def delete_messages(db: Database, chatflow_id: str, flt: MessageFilter) -> int:
    """Delete the chatflow's messages matching ``flt`` and their feedback; returns how many messages."""
    ids = [row["id"] for row in _select(db, chatflow_id, flt)]
    if not ids:
        return 0
    deleted = 0
    with db.transaction():
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            marks = ", ".join("?" for _ in batch)
            db.execute(f'DELETE FROM "chat_message_feedback" WHERE messageId IN ({marks})', batch)
            deleted += db.execute(f'DELETE FROM "chat_message" WHERE id IN ({marks})', batch)
    return deleted
