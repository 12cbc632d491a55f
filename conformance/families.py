"""The resource families the suite creates, with how to create, list, read and delete each one.

One table, used by the provisioning helpers, the lifecycle tests, the ledger's cleanup and the
leftover sweep, so a path is written once. `name_of` reads a resource's display name out of an
item (assistants keep theirs inside the `details` JSON string, as Flowise stores it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["FAMILIES", "Family"]


def _plain(field: str) -> Callable[[dict[str, Any]], str | None]:
    def name_of(item: dict[str, Any]) -> str | None:
        value = item.get(field)
        return value if isinstance(value, str) else None

    return name_of


def _assistant_name(item: dict[str, Any]) -> str | None:
    details = item.get("details")
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            return None
    if isinstance(details, dict) and isinstance(details.get("name"), str):
        return details["name"]
    return None


@dataclass(frozen=True, slots=True)
class Family:
    kind: str
    collection: str
    item: str
    name_field: str
    name_of: Callable[[dict[str, Any]], str | None]

    def item_path(self, id: str) -> str:
        return self.item.replace("{id}", id)

    def renamed(self, body: dict[str, Any], rename: Callable[[str], str]) -> dict[str, Any]:
        """`body` with its display name passed through `rename` (left alone when it has none)."""
        value = body.get(self.name_field)
        if self.kind == "assistant" and isinstance(value, str):
            try:
                details = json.loads(value)
            except ValueError:
                return body
            if isinstance(details, dict) and isinstance(details.get("name"), str):
                return {**body, "details": json.dumps({**details, "name": rename(details["name"])})}
            return body
        if isinstance(value, str):
            return {**body, self.name_field: rename(value)}
        return body


FAMILIES: dict[str, Family] = {
    family.kind: family
    for family in (
        Family(
            "chatflow",
            "/chatflows",
            "/chatflows/{id}",
            "name",
            _plain("name"),
        ),
        Family(
            "assistant",
            "/assistants",
            "/assistants/{id}",
            "details",
            _assistant_name,
        ),
        Family(
            "tool",
            "/tools",
            "/tools/{id}",
            "name",
            _plain("name"),
        ),
        Family(
            "variable",
            "/variables",
            "/variables/{id}",
            "name",
            _plain("name"),
        ),
        Family(
            "credential",
            "/credentials",
            "/credentials/{id}",
            "name",
            _plain("name"),
        ),
        Family(
            "apikey",
            "/apikey",
            "/apikey/{id}",
            "keyName",
            _plain("keyName"),
        ),
        Family(
            "document_store",
            "/document-store/store",
            "/document-store/store/{id}",
            "name",
            _plain("name"),
        ),
    )
}
