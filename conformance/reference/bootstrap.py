"""Headless first-run set-up of a fresh Flowise 3.x: account, login, API keys (no UI).

A fresh Flowise has no account and no API key, and the management API accepts either an API key or
a browser session (docs/auth.md#headless-bootstrap). The session is the only way to make the first key:
`POST /account/register` (public, works once), `POST /auth/login` (sets the `token`, `refreshToken`
and `connect.sid` cookies), then `POST /apikey` with those cookies *and* `x-request-from: internal`
(without the header the request is treated as an API-key request and refused). The answer to
`POST /apikey` is the list of all keys; the new one is picked by its name.

Flowise 2.x has no accounts (docs/auth.md#earlier-versions): its gate lets `x-request-from: internal`
through, behind HTTP basic auth when `FLOWISE_USERNAME` / `FLOWISE_PASSWORD` are set, and keeps keys
in `api.json` under `APIKEY_PATH`, without permissions. `bootstrap_api_json` creates the keys that
way; every 2.x key may do everything.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = [
    "FULL_PERMISSIONS",
    "SCOPED_PERMISSIONS",
    "VIEW_PERMISSIONS",
    "Admin",
    "ApiKey",
    "BootstrapError",
    "Bootstrapped",
    "SessionClient",
    "bootstrap",
    "bootstrap_api_json",
    "create_api_key",
    "strong_password",
]

#: Every API-key permission of Flowise 3.1.4 (`dist/enterprise/rbac/Permissions.js`) except the
#: `workspace` category (keys cannot hold it: 400 "Cannot create API key with workspace or admin
#: permissions") and the organisation-level `admin`, `logs` and `loginActivity` categories, which
#: the UI never offers for a key and no route the suite calls checks.
FULL_PERMISSIONS: tuple[str, ...] = (
    *(f"chatflows:{a}" for a in ("view", "create", "update", "duplicate", "delete", "export", "import", "config", "domains")),
    *(f"agentflows:{a}" for a in ("view", "create", "update", "duplicate", "delete", "export", "import", "config", "domains")),
    *(f"tools:{a}" for a in ("view", "create", "update", "delete", "export")),
    *(f"assistants:{a}" for a in ("view", "create", "update", "delete")),
    *(f"credentials:{a}" for a in ("view", "create", "update", "delete", "share")),
    *(f"variables:{a}" for a in ("view", "create", "update", "delete")),
    *(f"apikeys:{a}" for a in ("view", "create", "update", "delete")),
    *(
        f"documentStores:{a}"
        for a in ("view", "create", "update", "delete", "add-loader", "delete-loader", "preview-process", "upsert-config")
    ),
    *(f"datasets:{a}" for a in ("view", "create", "update", "delete")),
    *(f"evaluators:{a}" for a in ("view", "create", "update", "delete")),
    *(f"evaluations:{a}" for a in ("view", "create", "update", "delete", "run")),
    *(f"executions:{a}" for a in ("view", "update", "delete")),
    *(f"templates:{a}" for a in ("marketplace", "custom", "custom-delete", "toolexport", "flowexport", "custom-share")),
)
VIEW_PERMISSIONS: tuple[str, ...] = ("chatflows:view",)
#: A team's key as operators hold them: it may manage chatflows, agentflows, tools, assistants,
#: variables and document stores, but not credentials, API keys or evaluations.
SCOPED_PERMISSIONS: tuple[str, ...] = tuple(
    permission for permission in FULL_PERMISSIONS
    if permission.split(":")[0] in {"chatflows", "agentflows", "tools", "assistants", "variables", "documentStores"}
)

INTERNAL = {"x-request-from": "internal"}
SESSION_COOKIES = ("token", "refreshToken", "connect.sid")


class BootstrapError(RuntimeError):
    """A bootstrap request got an unexpected answer; the message carries status and body."""


def strong_password() -> str:
    """A password Flowise accepts: 8+ characters with lower, upper, digit and special characters."""
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))
    return f"Cf{secrets.randbelow(10)}!{body}"


@dataclass(frozen=True)
class Admin:
    """The first (and only) account of the instance."""

    email: str = "conformance-admin@example.com"
    name: str = "Conformance Admin"
    password: str = field(default_factory=strong_password)


@dataclass(frozen=True)
class ApiKey:
    id: str
    key_name: str
    api_key: str
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bootstrapped:
    """What the reference run needs from the bootstrap."""

    admin: Admin
    full_key: ApiKey
    view_key: ApiKey


def _fail(what: str, response: httpx.Response) -> BootstrapError:
    return BootstrapError(f"{what}: {response.request.method} {response.request.url.path} "
                          f"answered {response.status_code}: {response.text[:300]}")


def _pick_key(data: Any, key_name: str) -> ApiKey:
    """`POST /apikey` answers with every key; the newest one carrying our name is ours."""
    items = data if isinstance(data, list) else [data]
    mine = [item for item in items if isinstance(item, dict) and item.get("keyName") == key_name and item.get("apiKey")]
    if not mine:
        raise BootstrapError(f"no key named {key_name!r} in the answer to POST /apikey")
    item = max(mine, key=lambda entry: str(entry.get("updatedDate") or entry.get("createdDate") or ""))
    permissions = item.get("permissions")
    if isinstance(permissions, str):
        permissions = [part for part in permissions.strip("[]").replace('"', "").split(",") if part]
    return ApiKey(
        id=str(item["id"]),
        key_name=key_name,
        api_key=str(item["apiKey"]),
        permissions=tuple(permissions or ()),
    )


def create_api_key(client: httpx.Client, key_name: str, permissions: tuple[str, ...] | list[str]) -> ApiKey:
    """`POST /api/v1/apikey` through any client already allowed to (session or a key with apikeys:create)."""
    body: dict[str, Any] = {"keyName": key_name}
    if permissions:  # 2.x keys have none (and 2.x ignores the field)
        body["permissions"] = list(permissions)
    response = client.post("/api/v1/apikey", json=body)
    if response.status_code not in (200, 201):
        raise _fail(f"creating API key {key_name!r}", response)
    return _pick_key(response.json(), key_name)


class SessionClient:
    """A browser-like session: cookies kept by the client, `x-request-from: internal` on every call."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.http = httpx.Client(base_url=base_url, transport=transport, timeout=timeout, follow_redirects=False)

    def __enter__(self) -> SessionClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def register(self, admin: Admin) -> bool:
        """Create the account; False when the instance already has one (register works once)."""
        response = self.http.post(
            "/api/v1/account/register",
            json={"user": {"name": admin.name, "email": admin.email, "credential": admin.password}},
        )
        if response.status_code in (200, 201):
            return True
        if response.status_code == 400 and "only have one organization" in response.text:
            return False
        raise _fail("registering the admin account", response)

    def login(self, admin: Admin) -> dict[str, Any]:
        response = self.http.post("/api/v1/auth/login", json={"email": admin.email, "password": admin.password})
        if response.status_code != 200:
            raise _fail("logging in", response)
        missing = [name for name in SESSION_COOKIES if name not in self.http.cookies]
        if missing:
            raise BootstrapError(f"login set no {', '.join(missing)} cookie(s): session auth would fail")
        return response.json()

    def internal(self) -> httpx.Client:
        """The session client with the header that makes Flowise read the session instead of a key."""
        self.http.headers.update(INTERNAL)
        return self.http

    def create_api_key(self, key_name: str, permissions: tuple[str, ...] | list[str]) -> ApiKey:
        return create_api_key(self.internal(), key_name, permissions)


def bootstrap(
    base_url: str,
    *,
    admin: Admin | None = None,
    full_name: str = "conformance-full",
    view_name: str = "conformance-viewonly",
    transport: httpx.BaseTransport | None = None,
) -> Bootstrapped:
    """Register (if the instance is fresh), log in, and create a full and a view-only API key."""
    admin = admin or Admin()
    with SessionClient(base_url, transport=transport) as session:
        session.register(admin)
        session.login(admin)
        full = session.create_api_key(full_name, FULL_PERMISSIONS)
        view = session.create_api_key(view_name, VIEW_PERMISSIONS)
    return Bootstrapped(admin=admin, full_key=full, view_key=view)


def bootstrap_api_json(
    base_url: str,
    *,
    basic_auth: tuple[str, str] | None = None,
    full_name: str = "conformance-full",
    view_name: str = "conformance-viewonly",
    transport: httpx.BaseTransport | None = None,
) -> Bootstrapped:
    """Flowise 2.x: create two keys through the internal route (basic auth when the server has it).

    The keys land in the server's `api.json`; neither has permissions (2.x keys may do everything),
    so the "view-only" key is only used with `--read-only`.
    """
    auth = httpx.BasicAuth(*basic_auth) if basic_auth else None
    with httpx.Client(base_url=base_url, transport=transport, timeout=30.0, headers=INTERNAL, auth=auth,
                      follow_redirects=False) as client:
        full = create_api_key(client, full_name, ())
        view = create_api_key(client, view_name, ())
    admin = Admin(email=basic_auth[0] if basic_auth else "", name="basic auth" if basic_auth else "none",
                  password=basic_auth[1] if basic_auth else "")
    return Bootstrapped(admin=admin, full_key=full, view_key=view)
