"""Errors the mock answers with, and the one place that turns them into Flowise's bodies.

Flowise has three error shapes (docs/errors.md#error-shapes): the error handler's
``{statusCode, success, message, stack}``, the auth gate's ``{"error": "Unauthorized Access"}`` and RBAC's
``{"message": "Forbidden"}``. FastAPI's default ``{"detail": ...}`` must never reach a client.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

__all__ = [
    "FlowiseError",
    "ForbiddenError",
    "GateUnauthorizedError",
    "flowise_body",
    "error_response",
]


class FlowiseError(Exception):
    """An error Flowise's error handler would answer: status plus message, body ``{statusCode,...}``."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return JSONResponse(flowise_body(self.status, self.message), status_code=self.status, headers=self.headers)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r})"


class GateUnauthorizedError(FlowiseError):
    """The global auth gate refused the request: 401 ``{"error": "Unauthorized Access"}``."""

    def __init__(self) -> None:
        super().__init__(401, "Unauthorized Access")

    def response(self) -> Response:
        return JSONResponse({"error": "Unauthorized Access"}, status_code=401)


class ForbiddenError(FlowiseError):
    """The key lacks the operation's permission: 403 ``{"message": "Forbidden"}``."""

    def __init__(self) -> None:
        super().__init__(403, "Forbidden")

    def response(self) -> Response:
        return JSONResponse({"message": "Forbidden"}, status_code=403)


class TextError(FlowiseError):
    """An error Flowise sends as a bare text body (e.g. ``Unauthorized`` from /chatflows/apikey)."""

    def __init__(self, status: int, message: str, *, media_type: str = "text/html; charset=utf-8",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status, message, headers=headers)
        self.media_type = media_type

    def response(self) -> Response:
        return Response(self.message, status_code=self.status, media_type=self.media_type, headers=self.headers)


def flowise_body(status: int, message: str) -> dict[str, Any]:
    """The error handler's body, keys in Flowise's order."""
    return {"statusCode": status, "success": False, "message": message, "stack": {}}


def error_response(status: int, message: str) -> Response:
    return JSONResponse(flowise_body(status, message), status_code=status)
