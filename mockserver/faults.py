"""Failures and pacing on demand, per request, through ``X-Mock-*`` headers.

A frontend developer needs the mock to be slow, to fail and to drop a stream when asked, without
restarting it:

| header | effect |
|---|---|
| ``X-Mock-Delay: 1500`` | wait 1.5 s before answering (before the stream opens) |
| ``X-Mock-Error: 500`` | fail with that status (400-599); on a stream: ``error`` event then ``end`` |
| ``X-Mock-Abort-After: 3`` | on a stream, close the connection after 3 ``token`` events, without ``end`` |
| ``X-Mock-TTFT-Ms``, ``X-Mock-ITL-Ms``, ``X-Mock-Tokens-Per-Chunk`` | this request's timing (timing.py) |

A malformed value is the caller's mistake and answers 400 naming the header, never a silent default.
Error messages carry Flowise's ``predictionsServices.buildChatflow`` prefix, as the real failures do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mockserver.errors import FlowiseError
from mockserver.settings import MockSettings
from mockserver.timing import Timing

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

__all__ = ["BUILD_CHATFLOW", "RECEIVED_AT", "Faults", "is_injected", "mark_injected", "read_faults", "scripted_error"]

BUILD_CHATFLOW = "predictionsServices.buildChatflow"
_MAX_DELAY_MS = 600_000.0


@dataclass(frozen=True)
class Faults:
    """What the ``X-Mock-*`` headers of one request asked for."""

    delay_ms: float = 0.0
    error_status: int | None = None
    abort_after: int | None = None
    ttft_ms: float | None = None
    itl_ms: float | None = None
    tokens_per_chunk: int | None = None

    def timing(self, settings: MockSettings) -> Timing:
        """The settings' timing with this request's overrides (``fast`` still wins for the defaults)."""
        return Timing.from_settings(settings).with_overrides(
            ttft_ms=self.ttft_ms, itl_ms=self.itl_ms, tokens_per_chunk=self.tokens_per_chunk
        )

    def error(self) -> FlowiseError | None:
        """The injected failure, if ``X-Mock-Error`` asked for one."""
        if self.error_status is None:
            return None
        return FlowiseError(
            self.error_status, f"Error: {BUILD_CHATFLOW} - Mock error {self.error_status} (X-Mock-Error)"
        )


def _number(headers: Mapping[str, str], name: str, *, integer: bool, low: float, high: float) -> float | None:
    raw = headers.get(name.lower())
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip()) if integer else float(raw.strip())
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise FlowiseError(400, f"Invalid {name} header: {raw!r} is not {kind}") from None
    if not low <= value <= high or value != value:  # value != value: NaN
        raise FlowiseError(400, f"Invalid {name} header: {raw!r} must be between {low:g} and {high:g}")
    return value


_NO_FAULTS = Faults()


def read_faults(headers: Mapping[str, str]) -> Faults:
    """Parse a request's ``X-Mock-*`` headers (names are case-insensitive in Starlette's ``Headers``)."""
    raw = getattr(headers, "raw", None)  # Starlette's lower-cased header list: one pass for the usual request
    if raw is not None and not any(name.startswith(b"x-mock-") for name, _ in raw):
        return _NO_FAULTS
    error = _number(headers, "X-Mock-Error", integer=True, low=400, high=599)
    abort_after = _number(headers, "X-Mock-Abort-After", integer=True, low=0, high=10**9)
    per_chunk = _number(headers, "X-Mock-Tokens-Per-Chunk", integer=True, low=1, high=10**6)
    return Faults(
        delay_ms=_number(headers, "X-Mock-Delay", integer=False, low=0, high=_MAX_DELAY_MS) or 0.0,
        error_status=None if error is None else int(error),
        abort_after=None if abort_after is None else int(abort_after),
        ttft_ms=_number(headers, "X-Mock-TTFT-Ms", integer=False, low=0, high=_MAX_DELAY_MS),
        itl_ms=_number(headers, "X-Mock-ITL-Ms", integer=False, low=0, high=_MAX_DELAY_MS),
        tokens_per_chunk=None if per_chunk is None else int(per_chunk),
    )


def scripted_error(status: int, message: str | None) -> FlowiseError:
    """A script rule's failure, worded like a failure inside Flowise's ``buildChatflow``."""
    return FlowiseError(status, f"Error: {BUILD_CHATFLOW} - {message or f'Scripted error {status}'}")


#: Key in the ASGI scope's ``state`` holding the loop time at which the request arrived.
RECEIVED_AT = "mock.received"
_INJECTED = "mock.injected"


def mark_injected(request: HTTPConnection) -> None:
    """Record that this answer is a failure the developer asked for (header or script), not the contract's."""
    request.scope.setdefault("state", {})[_INJECTED] = True


def is_injected(request: HTTPConnection) -> bool:
    return bool(request.scope.get("state", {}).get(_INJECTED))
