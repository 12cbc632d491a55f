"""A small HTTP server imitating the bootstrap surface of Flowise 3.1.4, on a loopback port.

It behaves as docs/auth.md#headless-bootstrap describes: registration works once, login sets the `token`,
`refreshToken` and `connect.sid` cookies, `POST /apikey` needs those cookies *and*
`x-request-from: internal` (or a key with apikeys:create) and answers with the list of every key.
Chatflows and credentials are kept just enough to test the flow builder; every request is logged.
A real socket (not a mock transport) so the client's cookie jar is exercised as against Flowise.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeFlowise", "Recorded"]

STRONG = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^A-Za-z0-9]).{8,}$")


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class State:
    user: dict[str, str] | None = None
    sessions: set[str] = field(default_factory=set)
    keys: list[dict[str, Any]] = field(default_factory=list)
    chatflows: dict[str, dict[str, Any]] = field(default_factory=dict)
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def _send(self, status: int, body: Any, cookies: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (cookies or {}).items():
            self.send_header("Set-Cookie", f"{name}={value}; Path=/; HttpOnly; SameSite=Lax")
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"statusCode": status, "success": False, "message": message, "stack": {}})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode(errors="replace")

    def _cookies(self) -> dict[str, str]:
        jar = SimpleCookie(self.headers.get("Cookie", ""))
        return {name: morsel.value for name, morsel in jar.items()}

    def _key(self) -> dict[str, Any] | None:
        header = self.headers.get("Authorization", "")
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else header
        return next((key for key in self.server.state.keys if key["apiKey"] == token), None) if token else None

    def _authorised(self, permission: str) -> bool:
        """Session (internal header + token + connect.sid) or an API key holding `permission`."""
        state = self.server.state
        if self.headers.get("x-request-from") == "internal":
            cookies = self._cookies()
            if cookies.get("connect.sid") in state.sessions and cookies.get("token"):
                return True
            self._send(401, {"message": "Invalid or Missing token"})
            return False
        key = self._key()
        if key is None:
            self._send(401, {"error": "Unauthorized Access"})
            return False
        if permission not in key["permissions"]:
            self._send(403, {"message": "Forbidden"})
            return False
        return True

    def _route(self, method: str) -> None:
        state = self.server.state
        body = self._body() if method in {"POST", "PUT"} else None
        path = self.path.split("?", 1)[0]
        state.requests.append(Recorded(method, path, {k.lower(): v for k, v in self.headers.items()}, body))
        if (method, path) == ("POST", "/api/v1/account/register"):
            return self._register(body)
        if (method, path) == ("POST", "/api/v1/auth/login"):
            return self._login(body)
        if (method, path) == ("POST", "/api/v1/apikey"):
            return self._create_key(body) if self._authorised("apikeys:create") else None
        if (method, path) == ("GET", "/api/v1/apikey"):
            return self._send(200, state.keys) if self._authorised("apikeys:view") else None
        if (method, path) == ("POST", "/api/v1/credentials"):
            if not self._authorised("credentials:create"):
                return None
            item = {"id": str(uuid.uuid4()), **body, "encryptedData": "U2FsdGVkX1secret"}
            item.pop("plainDataObj", None)
            state.credentials[item["id"]] = item
            return self._send(200, item)
        if (method, path) == ("POST", "/api/v1/chatflows"):
            if not self._authorised("chatflows:create"):
                return None
            item = {"id": str(uuid.uuid4()), "apikeyid": None, "apiConfig": None, **body}
            state.chatflows[item["id"]] = item
            return self._send(200, item)
        if method == "PUT" and path.startswith("/api/v1/chatflows/"):
            if not self._authorised("chatflows:update"):
                return None
            item = state.chatflows.get(path.rsplit("/", 1)[1])
            if item is None:
                return self._error(404, "Chatflow not found")
            item.update(body)
            return self._send(200, item)
        return self._send(404, {"message": "not here"})

    def _register(self, body: Any) -> None:
        state = self.server.state
        user = (body or {}).get("user") or {}
        if state.user is not None:
            return self._error(400, "You can only have one organization")
        if not STRONG.match(str(user.get("credential", ""))):
            return self._error(400, "Invalid Password")
        state.user = {"email": user["email"], "password": user["credential"], "name": user.get("name", "")}
        self._send(201, {"user": {"id": str(uuid.uuid4()), "email": user["email"], "status": "active"}})

    def _login(self, body: Any) -> None:
        state = self.server.state
        body = body or {}
        if state.user is None or body.get("email") != state.user["email"] or body.get("password") != state.user["password"]:
            return self._error(401, "Incorrect Email or Password")
        sid = "s%3A" + uuid.uuid4().hex
        state.sessions.add(sid)
        self._send(200, {"id": "u1", "email": state.user["email"]}, cookies={
            "token": "jwt." + uuid.uuid4().hex, "refreshToken": "jwt." + uuid.uuid4().hex, "connect.sid": sid})

    def _create_key(self, body: Any) -> None:
        state = self.server.state
        permissions = (body or {}).get("permissions")
        if not isinstance(permissions, list):
            return self._error(412, "Error: apikeyController.createApiKey - permissions must be an array of strings!")
        if any(p.startswith(("workspace:", "admin:")) for p in permissions):
            return self._error(400, "Cannot create API key with workspace or admin permissions")
        state.keys.append({
            "id": str(uuid.uuid4()), "apiKey": uuid.uuid4().hex + uuid.uuid4().hex[:11], "apiSecret": "x",
            "keyName": body["keyName"], "permissions": permissions, "updatedDate": f"2026-01-01T00:00:{len(state.keys):02d}Z",
            "workspaceId": "w1", "chatFlows": [],
        })
        self._send(200, state.keys)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State


class FakeFlowise:
    """Start with `with FakeFlowise() as fake:`; `fake.url` is http://127.0.0.1:<free port>."""

    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.state = State()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def state(self) -> State:
        return self.server.state

    def __enter__(self) -> FakeFlowise:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
