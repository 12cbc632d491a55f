"""Shared fixtures for the mock's own tests: an in-memory, strict mock behind an httpx ASGI client.

Strict mode turns any response the spec does not document into a 500 naming the operation, so every
test here also checks the handlers against the contract. ``client`` talks to the app in-process with
paths relative to ``/api/v1``; ``make_client`` builds further apps with other settings
(``quirks="flowise-3.1"``, ``no_auth=True``...); ``key_headers`` creates a real API key with chosen
permissions through ``POST /apikey``, the way a Flowise user would. Tests are plain ``async def``
(pytest-asyncio runs in auto mode). ``serve_over_socket`` runs a mock under uvicorn on a loopback port, in
a thread, for tests that need a real socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest
from mockserver_errors import check_error
from mockserver_settings import ADMIN, asgi_client, mock_settings

from contract.process import serve_in_thread
from mockserver import MockSettings, create_app
from mockserver.spec import Spec, load_spec


@pytest.fixture
def expect_error() -> Callable[..., str]:
    """``expect_error(response, 404, "Tool x not found")``: see ``check_error``."""
    return check_error


@pytest.fixture(scope="session")
def spec() -> Spec:
    """The spec file, parsed once per session (a Spec is read-only once built, so apps can share it)."""
    return load_spec()


@pytest.fixture
def settings() -> MockSettings:
    return mock_settings()


@pytest.fixture
def app(settings: MockSettings, spec: Spec) -> Any:
    return create_app(settings, spec=spec)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app) as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return dict(ADMIN)


@pytest.fixture
async def make_client(spec: Spec) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """A factory of extra clients over fresh apps with other settings; all are closed at teardown."""
    opened: list[httpx.AsyncClient] = []

    def build(**overrides: Any) -> httpx.AsyncClient:
        test_client = asgi_client(create_app(mock_settings(**overrides), spec=spec))
        opened.append(test_client)
        return test_client

    yield build
    for test_client in opened:
        await test_client.aclose()


async def create_key(client: httpx.AsyncClient, *permissions: str, name: str | None = None,
                     headers: dict[str, str] | None = None) -> dict[str, str]:
    """Create an API key holding ``permissions`` through ``POST /apikey``; return its auth headers."""
    key_name = name or f"test-{'-'.join(permissions) or 'none'}"
    response = await client.post("/apikey", json={"keyName": key_name, "permissions": list(permissions)},
                                 headers=headers or ADMIN)
    assert response.status_code == 200, response.text
    fresh = [k["apiKey"] for k in response.json() if k["keyName"] == key_name and "..." not in k["apiKey"]]
    assert len(fresh) == 1, response.json()
    return {"Authorization": f"Bearer {fresh[0]}"}


@pytest.fixture
def key_headers(client: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, str]]]:
    """``await key_headers("chatflows:view")``: headers of a new key with just those permissions."""

    async def create(*permissions: str, name: str | None = None) -> dict[str, str]:
        return await create_key(client, *permissions, name=name)

    return create


def _serve(settings: MockSettings) -> AbstractContextManager[str]:
    return serve_in_thread(create_app(settings), log_level="critical")


@pytest.fixture(scope="session")
def serve_over_socket() -> Callable[[MockSettings], AbstractContextManager[str]]:
    """``with serve_over_socket(settings) as root:`` a mock on ``root`` (``http://127.0.0.1:<port>``)."""
    return _serve
