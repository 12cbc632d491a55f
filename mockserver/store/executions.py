"""Agentflow executions: the record of each agentflow run, written by predictions, read and deleted by
``/executions`` (the row's columns are Flowise's ``Execution`` entity's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mockserver.store.chatmessages import dump_json
from mockserver.store.db import Database, now_iso, page_window

__all__ = ["ExecutionFilter", "delete_executions", "latest_execution", "list_executions", "public_execution",
           "save_execution"]


@dataclass
class ExecutionFilter:
    """The filters of ``GET /executions``, already checked (dates in the stored form); all optional."""

    id: str | None = None
    agentflow_id: str | None = None
    session_id: str | None = None
    #: part of the agentflow's name, any case
    agentflow_name: str | None = None
    state: str | None = None
    start_date: str | None = None
    end_date: str | None = None

    def where(self, workspace_id: str) -> tuple[str, list[Any]]:
        conditions: list[str] = ['e."workspaceId" = ?']
        params: list[Any] = [workspace_id]
        for column, value in (("id", self.id), ("agentflowId", self.agentflow_id), ("sessionId", self.session_id)):
            if value:
                conditions.append(f'e."{column}" = ?')
                params.append(value)
        if self.agentflow_name:
            conditions.append("LOWER(c.name) LIKE LOWER(?)")
            params.append(f"%{self.agentflow_name}%")
        if self.state:
            conditions.append("e.state = ?")
            params.append(self.state)
        for value, op in ((self.start_date, ">="), (self.end_date, "<=")):
            if value is not None:
                conditions.append(f'e."createdDate" {op} ?')
                params.append(value)
        return " AND ".join(conditions), params


def list_executions(db: Database, workspace_id: str, flt: ExecutionFilter, *, page: int,
                    limit: int) -> tuple[list[dict[str, Any]], int]:
    """The workspace's executions matching ``flt``, newest-updated first, and how many match in all. A
    ``limit`` of 0 or less takes every row (TypeORM takes no limit then) and a negative offset skips none."""
    where, params = flt.where(workspace_id)
    joined = 'FROM "execution" e LEFT JOIN chat_flow c ON c.id = e."agentflowId"'
    total = int(db.scalar(f"SELECT COUNT(*) {joined} WHERE {where}", params) or 0)
    sql = f'SELECT e.* {joined} WHERE {where} ORDER BY e."updatedDate" DESC, e.rowid DESC'
    if limit > 0:
        sql += " LIMIT ? OFFSET ?"
        window, offset = page_window(page, limit)  # clamped: a far page is just empty
        params = [*params, window, max(0, offset)]
    return db.query(sql, params), total


def delete_executions(db: Database, ids: list[str], workspace_id: str) -> int:
    """Delete the workspace's executions of ``ids``, unlinking their chat messages, in one commit; returns how many."""
    deleted = 0
    with db.transaction():
        for execution_id in ids:
            deleted += db.execute('DELETE FROM "execution" WHERE id = ? AND "workspaceId" = ?',
                                  (execution_id, workspace_id))
            db.execute('UPDATE chat_message SET "executionId" = NULL WHERE "executionId" = ?', (execution_id,))
    return deleted


def public_execution(db: Database, execution_id: str) -> dict[str, Any] | None:
    """The execution, if it is public (any workspace: the public route has none)."""
    return db.one('SELECT * FROM "execution" WHERE id = ? AND "isPublic" = 1', (execution_id,))


def latest_execution(db: Database, *, agentflow_id: str, session_id: str, workspace_id: str) -> dict[str, Any] | None:
    """``id``, ``state`` and ``executionData`` of the session's newest execution of the agentflow."""
    return db.one('SELECT id, state, executionData FROM "execution" WHERE sessionId = ? AND agentflowId = ? '
                  "AND workspaceId = ? ORDER BY createdDate DESC, rowid DESC LIMIT 1",
                  (session_id, agentflow_id, workspace_id))


def save_execution(db: Database, *, execution_id: str, agentflow_id: str, session_id: str, workspace_id: str,
                   executed_data: list[dict[str, Any]], state: str) -> None:
    """Insert (or finish) an agentflow execution row."""
    stamp = now_iso()
    data = dump_json(executed_data) or "[]"
    if db.get("execution", execution_id) is None:
        db.insert("execution", {
            "id": execution_id, "executionData": data, "state": state, "agentflowId": agentflow_id,
            "sessionId": session_id, "action": None, "isPublic": None, "workspaceId": workspace_id,
            "createdDate": stamp, "updatedDate": stamp, "stoppedDate": _stopped(state, stamp),
        })
    else:  # a resumed run keeps the date it stopped at; a new stop stamps its own
        changes = {"executionData": data, "state": state, "updatedDate": stamp}
        if _stopped(state, stamp):
            changes["stoppedDate"] = stamp
        db.update("execution", execution_id, changes)


def _stopped(state: str, stamp: str) -> str | None:
    """Flowise stamps ``stoppedDate`` only on a stopped or terminated run; a finished one keeps null."""
    return stamp if state in ("STOPPED", "TERMINATED") else None
