"""API keys: the ``apikey`` rows the gate looks keys up in (by the hash of the key; the plain key is never
stored). Inserting, listing and deleting them goes through ``records``."""

from __future__ import annotations

from typing import Any

from mockserver.store.db import Database

__all__ = ["by_hash", "hash_of"]


def by_hash(db: Database, key_hash: str) -> dict[str, Any] | None:
    """``id``, ``keyName`` and ``permissions`` of the key whose hash this is."""
    return db.one("SELECT id, keyName, permissions FROM apikey WHERE keyHash = ?", (key_hash,))


def hash_of(db: Database, key_id: str) -> str | None:
    """The stored hash of the key with this id."""
    row = db.one("SELECT keyHash FROM apikey WHERE id = ?", (key_id,))
    return None if row is None else str(row["keyHash"])
