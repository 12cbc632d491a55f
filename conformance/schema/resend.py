"""Send once more a request whose answer a reverse proxy cut off mid-body.

Caddy 2.6 (Go's HTTP/1.1 server in front of its reverse proxy) sometimes aborts an answer after its
headers when the answer overtakes the request body it is still forwarding ("aborting with incomplete
response" in Caddy's log; the client sees a chunked body that stops, "invalid chunk"). Flowise answered
in full; the proxy dropped it. Like schemathesis' own resend of a request dropped before any answer,
a request whose answer was cut mid-body is sent once more on a fresh connection, and only when the
run found a proxy in front: without one, a cut answer is Flowise's and fails as before. Every resend
is counted and reported as the proxy's doing; a second cut fails the check as before.

The adapter is mounted on the sessions schemathesis' engine makes (``make_session``), for one run.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

__all__ = ["CutAnswers", "ResendingAdapter", "resending_sessions"]


@dataclass
class CutAnswers:
    """Answers cut mid-body and resent, per ``METHOD path`` (thread-safe: the engine runs workers)."""

    resent: Counter[str] = field(default_factory=Counter)
    cut_again: Counter[str] = field(default_factory=Counter)
    first_error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, key: str, error: Exception, *, again: bool) -> None:
        with self._lock:
            (self.cut_again if again else self.resent)[key] += 1
            self.first_error = self.first_error or str(error)[:300]

    def summary(self) -> str:
        if not self.resent:
            return ""
        total, again = sum(self.resent.values()), sum(self.cut_again.values())
        where = ", ".join(f"{key} ×{count}" for key, count in self.resent.most_common(5))
        return (f"{total} answers cut off mid-body by the proxy were sent once more ({where}); "
                f"{total - again} then answered in full, {again} cut again; first: {self.first_error}")


def _key(request: requests.PreparedRequest) -> str:
    path = (request.path_url or "/").split("?", 1)[0]
    return f"{request.method} {path}"


class ResendingAdapter(HTTPAdapter):
    """requests' adapter reading each answer whole (schemathesis reads it whole anyway) and sending the
    request once more if the body was cut. Event streams are left to stream."""

    def __init__(self, cut: CutAnswers, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cut = cut

    def send(self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        response = super().send(request, stream=stream, **kwargs)
        if "text/event-stream" in (response.headers.get("Content-Type") or "").lower():
            return response
        try:
            response.content  # noqa: B018  (read here, where a cut can still be resent)
        except requests.exceptions.ChunkedEncodingError as error:
            response.close()
            self.cut.record(_key(request), error, again=False)
            again = super().send(request, stream=stream, **kwargs)
            try:
                again.content  # noqa: B018
            except requests.exceptions.ChunkedEncodingError as second:
                self.cut.record(_key(request), second, again=True)
                raise
            return again
        return response


@contextmanager
def resending_sessions(cut: CutAnswers, *, enabled: bool = True) -> Iterator[bool]:
    """While inside: every session schemathesis' engine makes mounts a `ResendingAdapter`. Yields whether
    it could (False when disabled, or when this schemathesis no longer makes sessions that way)."""
    try:
        from schemathesis.engine import context
    except ImportError:  # pragma: no cover - depends on the installed schemathesis
        yield False
        return
    original = getattr(context, "make_session", None)
    if not enabled or original is None:
        yield False
        return

    def make_session(*args: Any, **kwargs: Any) -> requests.Session:
        session: requests.Session = original(*args, **kwargs)
        adapter = ResendingAdapter(cut)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    context.make_session = make_session
    try:
        yield True
    finally:
        context.make_session = original
