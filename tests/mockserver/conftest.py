"""Shared fixtures for the mock's own tests: an in-memory, strict mock behind a TestClient.

Strict mode turns any response the spec does not document into a 500 naming the operation, so every
test here also checks the handlers against the contract. ``make_client`` builds further apps with other
settings (``quirks="flowise-3.1"``, ``no_auth=True``...); ``key_headers`` creates a real API key with
chosen permissions through ``POST /apikey``, the way a Flowise user would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import MockSettings, create_app

ADMIN_KEY = "test-admin-key"


def mock_settings(**overrides: Any) -> MockSettings:
    """The test settings: in-memory db, a fixed admin key, strict responses, no request log."""
    values: dict[str, Any] = {"db": ":memory:", "api_key": ADMIN_KEY, "strict": True, "log_requests": False}
    values.update(overrides)
    return MockSettings(**values)


@pytest.fixture
def settings() -> MockSettings:
    return mock_settings()


@pytest.fixture
def app(settings: MockSettings):  # noqa: ANN201 - a FastAPI app
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app, base_url="http://testserver/api/v1") as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """A factory of extra clients with other settings; each is closed at teardown."""
    opened: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        test_client = TestClient(create_app(mock_settings(**overrides)), base_url="http://testserver/api/v1")
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield build
    for test_client in opened:
        test_client.__exit__(None, None, None)


@pytest.fixture
def key_headers(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., dict[str, str]]:
    """Create an API key holding ``permissions`` (via ``POST /apikey``) and return its auth headers."""

    def create(*permissions: str, name: str | None = None) -> dict[str, str]:
        key_name = name or f"test-{'-'.join(permissions) or 'none'}"
        response = client.post("/apikey", json={"keyName": key_name, "permissions": list(permissions)},
                               headers=admin_headers)
        assert response.status_code == 200, response.text
        plain = next(k["apiKey"] for k in response.json() if k["keyName"] == key_name and len(k["apiKey"]) > 20)
        return {"Authorization": f"Bearer {plain}"}

    return create
