"""One request and the response it got, as plain data, ready to be shown to a person.

Every failure in a report carries the request as a curl command and the response received, so the
reader can reproduce it. Both come from here. The API key is redacted at construction: reports are
meant to be attached to tickets, and the suite is meant to be pointed at production.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Exchange", "REDACTED", "as_curl", "redact_headers"]

REDACTED = "<redacted>"
#: Headers whose values never leave the process.
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-api-key"})
#: Bodies longer than this are cut in reports (the full body is of no use in a ticket).
MAX_BODY_CHARS = 4000


def redact_headers(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """Copy headers, replacing secret values; a bearer prefix is kept so the scheme stays visible."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in items:
        if name.lower() in SECRET_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value else ""
            value = f"{scheme} {REDACTED}".strip()
        result[name] = value
    return result


def _shorten(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_BODY_CHARS:
        return text
    return text[:MAX_BODY_CHARS] + f"... [{len(text) - MAX_BODY_CHARS} more characters]"


def as_curl(method: str, url: str, headers: Mapping[str, str], body: str | None) -> str:
    """Render a request as a copy-pasteable curl command (headers already redacted)."""
    parts = ["curl", "-sS", "-X", method.upper(), shlex.quote(url)]
    for name, value in headers.items():
        if name.lower() in {"content-length", "host", "accept-encoding", "connection", "user-agent"}:
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        parts += ["--data-raw", shlex.quote(body)]
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Exchange:
    """A request and what came back (or the transport error that came instead)."""

    method: str
    url: str
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    elapsed: float | None = None
    #: A transport-level problem instead of a response: "timeout", "connection", ...
    error: str | None = None

    @classmethod
    def build(
        cls,
        *,
        method: str,
        url: str,
        request_headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        request_body: bytes | str | None = None,
        status: int | None = None,
        response_headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        response_body: bytes | str | None = None,
        elapsed: float | None = None,
        error: str | None = None,
    ) -> Exchange:
        """Make a report-safe record: secrets redacted, bytes decoded, long bodies cut."""
        return cls(
            method=method.upper(),
            url=url,
            request_headers=redact_headers(request_headers),
            request_body=_shorten(_text(request_body)),
            status=status,
            response_headers=redact_headers(response_headers),
            response_body=_shorten(_text(response_body)),
            elapsed=elapsed,
            error=error,
        )

    @property
    def curl(self) -> str:
        return as_curl(self.method, self.url, self.request_headers, self.request_body)

    @property
    def content_type(self) -> str:
        for name, value in self.response_headers.items():
            if name.lower() == "content-type":
                return value
        return ""

    def describe_response(self) -> str:
        """The response as a person reads it: status line, headers, body (or the transport error)."""
        if self.status is None:
            return f"(no response: {self.error or 'unknown error'})"
        lines = [f"HTTP {self.status}"]
        lines += [f"{name}: {value}" for name, value in self.response_headers.items()]
        lines.append("")
        lines.append(self.response_body or "")
        if self.error:
            lines.append(f"(then: {self.error})")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "url": self.url,
            "request_headers": dict(self.request_headers),
            "request_body": self.request_body,
            "status": self.status,
            "response_headers": dict(self.response_headers),
            "response_body": self.response_body,
            "elapsed": self.elapsed,
            "error": self.error,
            "curl": self.curl,
        }


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
