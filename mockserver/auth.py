"""Flowise 3.x's auth model: the global gate, API keys with permissions, and chatflow-bound keys.

The gate (docs/auth.md#the-auth-gate) lets whitelisted prefixes through with no identity, refuses a
wrong-case ``/API/V1/`` path, and otherwise wants ``Authorization: Bearer <key>`` (a bare key works too,
as Flowise takes the text after ``Bearer ``). A key without the operation's permission gets 403
``{"message":"Forbidden"}``. Keys are random (32 bytes, base64url, like Flowise) and stored only as
hashes: a SHA-256 digest to find them and a scrypt ``hash.salt`` secret in Flowise's format.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mockserver import quirks
from mockserver.errors import FlowiseError, GateUnauthorizedError
from mockserver.store import apikeys, records
from mockserver.store.db import Database, new_id, now_iso

if TYPE_CHECKING:
    from mockserver.operations import Call

__all__ = [
    "ALL_PERMISSIONS",
    "Identity",
    "KeyRing",
    "PUBLIC_PREFIXES",
    "check_chatflow_key",
    "is_public_path",
    "key_from_header",
]

#: Flowise's WHITELIST_URLS (3.1): these prefixes need no credentials.
PUBLIC_PREFIXES: tuple[str, ...] = (
    "/api/v1/verify/apikey/", "/api/v1/chatflows/apikey/", "/api/v1/public-chatflows",
    "/api/v1/public-chatbotConfig", "/api/v1/public-executions", "/api/v1/prediction/", "/api/v1/webhook/",
    "/api/v1/chatmessage/abort", "/api/v1/node-icon/", "/api/v1/components-credentials-icon/",
    "/api/v1/chatflows-streaming", "/api/v1/chatflows-uploads", "/api/v1/openai-assistants-file/download",
    "/api/v1/feedback", "/api/v1/leads", "/api/v1/get-upload-file", "/api/v1/ip", "/api/v1/ping",
    "/api/v1/version", "/api/v1/attachments", "/api/v1/settings",
)

_ACTIONS = {
    "chatflows": ("view", "create", "update", "duplicate", "delete", "export", "import", "config", "domains"),
    "agentflows": ("view", "create", "update", "duplicate", "delete", "export", "import", "config", "domains"),
    "tools": ("view", "create", "update", "delete", "export"),
    "assistants": ("view", "create", "update", "delete"),
    "credentials": ("view", "create", "update", "delete", "share"),
    "variables": ("view", "create", "update", "delete"),
    "apikeys": ("view", "create", "update", "delete"),
    "documentStores": ("view", "create", "update", "delete", "add-loader", "delete-loader", "preview-process",
                       "upsert-config"),
    "datasets": ("view", "create", "update", "delete"),
    "evaluators": ("view", "create", "update", "delete"),
    "evaluations": ("view", "create", "update", "delete", "run"),
    "executions": ("view", "update", "delete"),
    "templates": ("marketplace", "custom", "custom-delete", "toolexport", "flowexport", "custom-share"),
}
#: Every permission an API key may hold (workspace:* and admin:* never can).
ALL_PERMISSIONS: tuple[str, ...] = tuple(f"{family}:{action}" for family, actions in _ACTIONS.items()
                                         for action in actions)


@dataclass(frozen=True)
class Identity:
    """Who made the request: the API key's id, name and permissions."""

    key_id: str
    key_name: str
    permissions: frozenset[str]
    unrestricted: bool = False

    def allows(self, any_of: list[str]) -> bool:
        return self.unrestricted or not any_of or bool(self.permissions.intersection(any_of))


#: The identity used when auth is off (``--no-auth``): allowed everything.
OPEN_IDENTITY = Identity("no-auth", "no-auth", frozenset(ALL_PERMISSIONS), unrestricted=True)


def is_public_path(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES)


def key_from_header(value: str | None) -> str | None:
    """Flowise's ``value.split('Bearer ').pop()``: ``Bearer k`` and a bare ``k`` both give ``k``."""
    if not value:
        return None
    return value.split("Bearer ")[-1].strip() or None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _scrypt_secret(key: str) -> str:
    salt = secrets.token_hex(8)
    hashed = hashlib.scrypt(key.encode(), salt=salt.encode(), n=2**14, r=8, p=1, dklen=64)
    return f"{hashed.hex()}.{salt}"


def _preview(key: str) -> str:
    return f"{key[:4]}...{key[-4:]}"


#: ``mock_meta`` key bumped whenever an API key changes, so every ``--workers`` process drops its cache.
_KEY_GENERATION = "keysGeneration"


class KeyRing:
    """API keys in the ``apikey`` table, with an in-memory cache so the gate costs one dict lookup."""

    def __init__(self, db: Database, workspace_id: str, *, shared: bool = False) -> None:
        self.db = db
        self.workspace_id = workspace_id
        #: other processes write the same database (``--workers``): a key they revoke must not stay cached here
        self.shared = shared
        self._cache: dict[str, Identity | None] = {}
        self._seen_version = -1
        self._generation: str | None = None

    def identify(self, key: str | None) -> Identity | None:
        """The identity of ``key``; the answer is cached per key (in memory only) until a key changes."""
        if not key:
            return None
        if self.shared:
            self._follow_other_processes()
        if key not in self._cache:
            if len(self._cache) > 10_000:  # a flood of wrong keys must not grow the cache without bound
                self._cache.clear()
            row = apikeys.by_hash(self.db, _digest(key))
            self._cache[key] = None if row is None else Identity(
                row["id"], row["keyName"], frozenset(json.loads(row["permissions"] or "[]")))
        return self._cache[key]

    def forget(self) -> None:
        """Drop the cache after a key changed (update, delete, reset); tell the other processes to drop theirs."""
        self._cache.clear()
        if self.shared:
            self._generation = new_id()
            self.db.set_meta(_KEY_GENERATION, self._generation)

    def _follow_other_processes(self) -> None:
        """Drop the cache when another process changed a key: only a commit elsewhere (SQLite's
        ``data_version``) makes this read the key generation those processes bump."""
        version = self.db.data_version()
        if version == self._seen_version:
            return
        self._seen_version = version
        generation = self.db.meta(_KEY_GENERATION)
        if generation != self._generation:
            self._generation = generation
            self._cache.clear()

    def create(self, name: str, permissions: list[str], *, key: str | None = None) -> tuple[dict[str, Any], str]:
        """Store a new key and return its row and the plain key (the only moment the plain key exists)."""
        plain = key or secrets.token_urlsafe(32)
        row = {
            "id": new_id(), "keyName": name, "keyHash": _digest(plain), "apiSecret": _scrypt_secret(plain),
            "keyPreview": _preview(plain), "permissions": json.dumps(permissions), "workspaceId": self.workspace_id,
            "updatedDate": now_iso(),
        }
        records.insert(self.db, "apikey", row)
        self.forget()
        return row, plain

    def matches(self, key_id: str, key: str | None) -> bool:
        """Is ``key`` the very key with id ``key_id`` (a chatflow-bound key)?"""
        if not key:
            return False
        stored = apikeys.hash_of(self.db, key_id)
        return stored is not None and hmac.compare_digest(stored, _digest(key))

    def ensure_admin(self, fixed_key: str | None) -> str | None:
        """Make sure an all-permission key exists; return its plain text when it was just created.

        With ``--api-key`` the given key is registered (once); without, a random admin key is created at the
        first start of an empty database and printed by the CLI.
        """
        if fixed_key:
            if self.identify(fixed_key) is None:
                self.create("admin", list(ALL_PERMISSIONS), key=fixed_key)
            return fixed_key
        if records.count(self.db, "apikey") == 0:
            return self.create("admin", list(ALL_PERMISSIONS))[1]
        return None


def check_chatflow_key(call: Call, chatflow: dict[str, Any], *, where: str = "predictionsServices.buildChatflow") -> None:
    """Enforce a chatflow-bound key (``apikeyid``) on prediction and vector upsert.

    By contract a missing or wrong key is 401 ``{"error":"Unauthorized Access"}``; under quirks it is the real
    server's 500 ``Error: <where> - Unauthorized`` (deviation ``flow-key-500``).
    """
    key_id = chatflow.get("apikeyid")
    if not key_id or call.settings.no_auth:
        return
    ring: KeyRing = call.state.keys
    if ring.matches(key_id, key_from_header(call.request.headers.get("authorization"))):
        return
    if quirks.active(call, "flow-key-500"):
        raise FlowiseError(500, f"Error: {where} - Unauthorized")
    raise GateUnauthorizedError()
