"""API keys: list, create, update, delete, verify.

Keys are stored hashed (``auth.KeyRing``), so a list shows each key's preview (``abcd...wxyz``) as its
``apiKey``; the plain key appears once, in the answer to the ``POST /apikey`` that made it. Flowise answers
create and update with the whole list of the workspace's keys, each with the chatflows bound to it.
Every change drops the key ring's cache so the gate sees it on the next request.

A key never hands out more than it holds: creating or updating a key with a permission the calling key
lacks answers 400 ``Cannot create API key with permissions that exceed your own permissions``, and the
list shows only the keys whose permissions are all the caller's own (so a scoped key sees itself and the
keys below it), as Flowise does for every caller that is not an organisation admin (API keys never are).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mockserver.auth import KeyRing
from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.resources._shape import delete_answer, load_entity, update_entity
from mockserver.store import chatflows, records
from mockserver.store.db import page_window

_PERMISSIONS_MESSAGE = "Error: apikeyController.{fn} - permissions must be an array of strings!"
_RESERVED = ("workspace:", "admin:")


def _ring(call: Call) -> KeyRing:
    return call.state.keys


def _bound_chatflows(call: Call, key_id: str) -> list[dict[str, Any]]:
    rows = chatflows.bound_to_key(call.db, key_id)
    return [{"flowName": r["name"], "category": r["category"], "updatedDate": r["updatedDate"]} for r in rows]


def _shaper(call: Call, plain: dict[str, str] | None = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The list entry of a key as Flowise shows it, ``apiSecret`` (the scrypt ``hash.salt``) included; the
    plain key is never stored, so ``apiKey`` is a preview except for the key just created
    (``plain`` = {id: key})."""

    old = active(call, "api-keys-json-store")  # Flowise 2.2: an api.json entry

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        if old:
            return {"keyName": row["keyName"], "apiKey": (plain or {}).get(row["id"], row["keyPreview"]),
                    "apiSecret": row["apiSecret"], "createdAt": _day(row["updatedDate"]), "id": row["id"],
                    "chatFlows": _bound_chatflows(call, row["id"])}
        return {
            "id": row["id"],
            "apiKey": (plain or {}).get(row["id"], row["keyPreview"]),
            "apiSecret": row["apiSecret"],
            "keyName": row["keyName"],
            "permissions": json.loads(row["permissions"] or "[]"),
            "updatedDate": row["updatedDate"],
            "workspaceId": row["workspaceId"],
            "chatFlows": _bound_chatflows(call, row["id"]),
        }

    return shape


def _day(stamp: Any) -> str:
    """2.2's ``createdAt``: moment's ``DD-MMM-YY`` (``07-Dec-26``)."""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).strftime("%d-%b-%y")
    except ValueError:
        return str(stamp)


def _visible_rows(call: Call) -> list[dict[str, Any]]:
    """The workspace's keys, newest first, that the caller may see: those whose permissions it all holds."""
    rows, _ = records.list_in_workspace(call.db, "apikey", call.workspace_id)
    identity = call.identity
    if identity is None or identity.unrestricted:
        return rows
    return [row for row in rows if set(json.loads(row["permissions"] or "[]")) <= identity.permissions]


def _all_keys(call: Call, plain: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [_shaper(call, plain)(row) for row in _visible_rows(call)]


def _permissions(call: Call, body: dict[str, Any], fn: str) -> list[str]:
    """Flowise's checks, in its order: a non-empty list of strings (412 otherwise), none of them
    ``workspace:*`` or ``admin:*`` (400: those belong to users, never to keys), and none the calling key
    lacks (400: a key cannot hand out more than it holds)."""
    permissions = body.get("permissions")
    if active(call, "api-keys-json-store"):  # Flowise 2.2 reads only keyName; its keys may do everything
        return [p for p in permissions if isinstance(p, str)] if isinstance(permissions, list) else []
    if not isinstance(permissions, list) or not permissions or not all(isinstance(p, str) for p in permissions):
        raise FlowiseError(412, _PERMISSIONS_MESSAGE.format(fn=fn))
    verb = "create" if fn == "createApiKey" else "update"
    if any(p.startswith(_RESERVED) for p in permissions):
        raise FlowiseError(400, f"Cannot {verb} API key with workspace or admin permissions")
    identity = call.identity
    if identity is not None and not identity.unrestricted and not set(permissions) <= identity.permissions:
        raise FlowiseError(400, f"Cannot {verb} API key with permissions that exceed your own permissions")
    return permissions


def _key_name(call: Call, body: dict[str, Any], fn: str) -> str:
    name = body.get("keyName")
    if not name:
        raise FlowiseError(412, f"Error: apikeyController.{fn} - keyName not provided!")
    if not isinstance(name, str):
        if not active(call, "no-input-validation"):  # Flowise tests only that it is there
            raise FlowiseError(412, f"Error: apikeyController.{fn} - keyName not provided!")
        name = str(name)
    return name


@operation("getAllApiKeys")
async def get_all_api_keys(call: Call) -> list[dict[str, Any]] | dict[str, Any]:
    """The keys the caller may see; ``{data, total}`` when both ``page`` and ``limit`` are given."""
    rows, shape = _visible_rows(call), _shaper(call)
    page, limit = call.query.get("page"), call.query.get("limit")
    if page and limit:
        count, offset = page_window(page, limit)
        return {"data": [shape(row) for row in rows[offset:offset + count]], "total": len(rows)}
    return [shape(row) for row in rows]


@operation("createApiKey")
async def create_api_key(call: Call) -> list[dict[str, Any]]:
    body = call.body or {}
    name = _key_name(call, body, "createApiKey")
    row, plain = _ring(call).create(name, _permissions(call, body, "createApiKey"))
    return _all_keys(call, {row["id"]: plain})


@operation("updateApiKey")
async def update_api_key(call: Call) -> list[dict[str, Any]]:
    """Flowise checks the body (412, then 400) before it looks the key up (404)."""
    body = call.body or {}
    name = _key_name(call, body, "updateApiKey")
    permissions = _permissions(call, body, "updateApiKey")
    if active(call, "api-keys-json-store") and records.get(call.db, "apikey", call.path["id"]) is None:
        return []  # 2.2's updateAPIKey: an unknown id answers an empty list
    row = load_entity(call, "apikey", "ApiKey {id} not found", where="apikeyService.updateApiKey")
    update_entity(call, "apikey", row, {"keyName": name, "permissions": json.dumps(permissions)})
    _ring(call).forget()
    return _all_keys(call)


@operation("deleteApiKey")
async def delete_api_key(call: Call) -> dict[str, Any] | list[dict[str, Any]]:
    key_id = call.path["id"]
    affected = records.delete(call.db, "apikey", key_id, workspace_id=call.workspace_id)
    _ring(call).forget()
    if active(call, "api-keys-json-store"):  # 2.2 answers the keys left, found or not
        return _all_keys(call)
    return delete_answer(call, affected, f"ApiKey {key_id} not found", where="apikeyService.deleteApiKey")


@operation("verifyApiKey")
async def verify_api_key(call: Call) -> str:
    """Public: the JSON string ``"OK"`` for a key the gate would accept, a 401 error body otherwise."""
    if _ring(call).identify(call.path["apikey"]) is None:
        raise FlowiseError(401, "Unauthorized")
    return "OK"
