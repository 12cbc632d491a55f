"""Asserting Flowise's error bodies: shared by the fixtures and the tests that run the mock as a process."""

from __future__ import annotations

import httpx


def check_error(response: httpx.Response, status: int, message: str | None = None) -> str:
    """Assert Flowise's error-handler body ``{statusCode, success, message, stack}`` (keys in that order)
    with ``status`` (and exactly ``message`` when given); return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["statusCode", "success", "message", "stack"], body
    assert body["statusCode"] == status and body["success"] is False and body["stack"] == {}, body
    if message is not None:
        assert body["message"] == message
    return body["message"]
