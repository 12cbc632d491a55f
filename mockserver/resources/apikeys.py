"""API keys: list, create, update, delete, verify.

Keys are stored hashed (``auth.KeyRing``), so a list shows each key's preview (``abcd...wxyz``) as its
``apiKey``; the plain key appears once, in the answer to the ``POST /apikey`` that made it. Flowise answers
create and update with the whole list of the workspace's keys, each with the chatflows bound to it.
Every change drops the key ring's cache so the gate sees it on the next request.
"""

from __future__ import annotations

import json
from typing import Any

from mockserver.auth import KeyRing
from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.resources._shape import delete_answer, listing, load_entity, update_entity

_PERMISSIONS_MESSAGE = "Error: apikeyController.{fn} - permissions must be an array of strings!"
_RESERVED = ("workspace:", "admin:")


def _ring(call: Call) -> KeyRing:
    return call.state.extras["keys"]


def _bound_chatflows(call: Call, key_id: str) -> list[dict[str, Any]]:
    rows = call.db.query("SELECT name, category, updatedDate FROM chat_flow WHERE apikeyid = ? ORDER BY rowid",
                         (key_id,))
    return [{"flowName": r["name"], "category": r["category"], "updatedDate": r["updatedDate"]} for r in rows]


def _shaper(call: Call, plain: dict[str, str] | None = None):  # noqa: ANN202 - a row -> JSON function
    """The list entry of a key as Flowise shows it, ``apiSecret`` (the scrypt ``hash.salt``) included; the
    plain key is never stored, so ``apiKey`` is a preview except for the key just created
    (``plain`` = {id: key})."""

    def shape(row: dict[str, Any]) -> dict[str, Any]:
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


def _all_keys(call: Call, plain: dict[str, str] | None = None) -> list[dict[str, Any]]:
    rows = call.db.query("SELECT * FROM apikey WHERE workspaceId = ? ORDER BY updatedDate DESC, rowid DESC",
                         (call.workspace_id,))
    return [_shaper(call, plain)(row) for row in rows]


def _permissions(body: dict[str, Any], fn: str) -> list[str]:
    """Flowise's checks: a non-empty list of strings (412 otherwise), none of them ``workspace:*`` or
    ``admin:*`` (400): those belong to users, never to keys."""
    permissions = body.get("permissions")
    if not isinstance(permissions, list) or not permissions or not all(isinstance(p, str) for p in permissions):
        raise FlowiseError(412, _PERMISSIONS_MESSAGE.format(fn=fn))
    if any(p.startswith(_RESERVED) for p in permissions):
        raise FlowiseError(400, "Cannot create API key with workspace or admin permissions")
    return permissions


def _key_name(body: dict[str, Any], fn: str) -> str:
    name = body.get("keyName")
    if not isinstance(name, str) or not name:
        raise FlowiseError(412, f"Error: apikeyController.{fn} - keyName not provided!")
    return name


@operation("getAllApiKeys")
async def get_all_api_keys(call: Call) -> Any:
    return listing(call, "apikey", _shaper(call))


@operation("createApiKey")
async def create_api_key(call: Call) -> Any:
    body = call.body or {}
    name = _key_name(body, "createApiKey")
    row, plain = _ring(call).create(name, _permissions(body, "createApiKey"))
    return _all_keys(call, {row["id"]: plain})


@operation("updateApiKey")
async def update_api_key(call: Call) -> Any:
    row = load_entity(call, "apikey", "ApiKey {id} not found", where="apikeyService.updateApiKey")
    body = call.body or {}
    update_entity(call, "apikey", row, {"keyName": _key_name(body, "updateApiKey"),
                                        "permissions": json.dumps(_permissions(body, "updateApiKey"))})
    _ring(call).forget()
    return _all_keys(call)


@operation("deleteApiKey")
async def delete_api_key(call: Call) -> Any:
    key_id = call.path["id"]
    affected = call.db.execute("DELETE FROM apikey WHERE id = ? AND workspaceId = ?", (key_id, call.workspace_id))
    _ring(call).forget()
    return delete_answer(call, affected, f"ApiKey {key_id} not found", where="apikeyService.deleteApiKey")


@operation("verifyApiKey")
async def verify_api_key(call: Call) -> Any:
    """Public: the JSON string ``"OK"`` for a key the gate would accept, a 401 error body otherwise."""
    if _ring(call).identify(call.path["apikey"]) is None:
        raise FlowiseError(401, "Unauthorized")
    return "OK"
