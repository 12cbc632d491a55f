"""Error bodies as Flowise writes them, one small pure check per shape.

Flowise has three error shapes depending on which layer refuses (docs/errors.md#error-shapes):
the auth gate's 401 `{"error": "Unauthorized Access"}`, RBAC's 403 `{"message": "Forbidden"}`,
and the error handler's `{"statusCode", "success": false, "message", "stack"}` for everything else
(except the 429 of the rate limiter, whose body is the chatflow's `limitMsg` as text/html). Clients
branch on those shapes, so a compatible server must keep them; FastAPI's `{"detail": ...}` must
never leak. Each function takes a status, headers and body and returns the problems it found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "UNAUTHORIZED_BODY",
    "error_body_has_flowise_shape",
    "forbidden_body_is_flowise",
    "no_framework_default_error",
    "unauthorized_body_is_flowise",
]

UNAUTHORIZED_BODY = {"error": "Unauthorized Access"}
FORBIDDEN_BODY = {"message": "Forbidden"}
HANDLER_KEYS = ["statusCode", "success", "message", "stack"]


def _content_type(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


def _json(body: bytes | str | None) -> tuple[Any, str | None]:
    try:
        return json.loads(body or b""), None
    except ValueError:
        return None, "body is not JSON"


def error_body_has_flowise_shape(
    status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes | str | None
) -> list[str]:
    """A 4xx/5xx from the error handler is JSON `{statusCode, success: false, message, stack}`.

    401 and 403 have their own shapes (see the two checks below) and 429 is text/html, so they are
    not judged here.
    """
    if status < 400 or status in {401, 403, 429}:
        return []
    problems = []
    content_type = _content_type(headers)
    if content_type != "application/json":
        problems.append(f"error response is {content_type or 'untyped'}, expected application/json")
    data, error = _json(body)
    if error:
        return [*problems, error]
    if not isinstance(data, dict):
        return [*problems, f"error body is {type(data).__name__}, expected an object"]
    missing = [key for key in HANDLER_KEYS if key not in data]
    if missing:
        problems.append(f"error body lacks {missing} (has {sorted(data)})")
    if "statusCode" in data and data["statusCode"] != status:
        problems.append(f"statusCode is {data['statusCode']!r} but the HTTP status is {status}")
    if "success" in data and data["success"] is not False:
        problems.append(f"success is {data['success']!r}, expected false")
    if "message" in data and not isinstance(data["message"], str):
        problems.append("message is not a string")
    return problems


def unauthorized_body_is_flowise(
    status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes | str | None
) -> list[str]:
    """The auth gate refuses with 401 and exactly `{"error": "Unauthorized Access"}`."""
    problems = [] if status == 401 else [f"status {status}, expected 401"]
    data, error = _json(body)
    if error:
        return [*problems, error]
    if data != UNAUTHORIZED_BODY:
        problems.append(f"body is {json.dumps(data)[:200]}, expected {json.dumps(UNAUTHORIZED_BODY)}")
    return problems


def forbidden_body_is_flowise(
    status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes | str | None
) -> list[str]:
    """A key without the needed permission gets 403 and exactly `{"message": "Forbidden"}`."""
    problems = [] if status == 403 else [f"status {status}, expected 403"]
    data, error = _json(body)
    if error:
        return [*problems, error]
    if data != FORBIDDEN_BODY:
        problems.append(f"body is {json.dumps(data)[:200]}, expected {json.dumps(FORBIDDEN_BODY)}")
    return problems


def no_framework_default_error(
    status: int, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes | str | None
) -> list[str]:
    """No FastAPI/Starlette default error body (`{"detail": ...}`) and no 422, which Flowise never sends."""
    problems = []
    if status == 422:
        problems.append("status 422 (Flowise answers a schema violation with 400)")
    if status >= 400:
        data, _ = _json(body)
        if isinstance(data, dict) and set(data) == {"detail"}:
            problems.append(f"framework default error body {json.dumps(data)[:200]}")
    return problems
