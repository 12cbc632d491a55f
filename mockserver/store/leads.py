"""Leads: the contact details a chat widget's lead form collects, per chatflow."""

from __future__ import annotations

from typing import Any

from mockserver.store.db import Database

__all__ = ["add_lead", "leads_of"]


def add_lead(db: Database, row: dict[str, Any]) -> dict[str, Any]:
    """Insert a lead (its keys are ``lead``'s columns) and return it."""
    return db.insert("lead", row)


def leads_of(db: Database, chatflow_id: str) -> list[dict[str, Any]]:
    """A chatflow's leads, oldest first, keys in Flowise's entity order."""
    return db.query("SELECT id, name, email, phone, chatflowid, chatId, createdDate FROM lead WHERE chatflowid = ? "
                    "ORDER BY createdDate, rowid", (chatflow_id,))
