"""Variables: the values a flow's ``$vars`` reads. Their CRUD goes through ``records``."""

from __future__ import annotations

from typing import Any

from mockserver.store.db import Database

__all__ = ["values_of"]


def values_of(db: Database, workspace_id: str, names: list[str]) -> dict[str, Any]:
    """``{name: value}`` of the workspace's variables among ``names`` (a later row wins a repeated name)."""
    found: dict[str, Any] = {}
    if names:
        marks = ", ".join("?" for _ in names)
        for row in db.query(f'SELECT name, value FROM "variable" WHERE workspaceId = ? AND name IN ({marks})',
                            [workspace_id, *names]):
            found[row["name"]] = row["value"]
    return found
