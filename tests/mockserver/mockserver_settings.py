"""The mock's test settings and client, importable by test modules (``conftest`` is not a module name
they can rely on: every test folder has one)."""

from __future__ import annotations

from typing import Any

import httpx

from mockserver import MockSettings

ADMIN_KEY = "test-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
BASE_URL = "http://testserver/api/v1"


def mock_settings(**overrides: Any) -> MockSettings:
    """The test settings: in-memory db, a fixed admin key, strict responses, no request log."""
    values: dict[str, Any] = {"db": ":memory:", "api_key": ADMIN_KEY, "strict": True, "log_requests": False}
    values.update(overrides)
    return MockSettings(**values)


def asgi_client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)
