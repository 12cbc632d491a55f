"""The one HTTP client the hand-written checks use, with the run's safety rules built in.

Safe to point at production means, concretely: requests go to BASE_URL and nowhere else (no
absolute URL to another origin, no redirect followed), a read-only run cannot send a writing
request even by mistake, traffic is paced to `--rate-limit`, every request has a timeout (a hung
stream becomes a failure, not a stuck run), and the API key never reaches a report. Each exchange
is kept as an `Exchange` so a failing check can show the request as curl and the response.

Once the run knows what its key may do (`permissions`), requests sent with that key go through it:
an operation the key is known to lack is not sent at all, and Flowise's refusal of one it may lack
(403 Forbidden, or a 400 for permissions it may not grant) raises `OutOfReach`, which the suite
reports as a skip naming the permission. A refusal the key's permissions do not explain raises
nothing: the check sees the answer and fails, and the contradiction is reported at the end.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.exchange import Exchange
from conformance.permissions import KeyPermissions
from conformance.profile import TargetProfile
from conformance.spec import Operation
from conformance.version import VersionProfile

__all__ = ["OutsideTarget", "Pacer", "ReadOnlyRefused", "StreamResult", "TargetClient"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: HTTP/2's default initial flow-control window: larger bodies are sent over HTTP/1.1 (see __init__).
H2_WINDOW = 65_535


class ReadOnlyRefused(RuntimeError):
    """A writing request was attempted during a --read-only run (a bug in the suite, never sent)."""


class OutsideTarget(RuntimeError):
    """A request to somewhere other than BASE_URL was attempted (never sent)."""


class Pacer:
    """Spaces requests to at most `rate` per second across threads; no rate means no waiting."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass(frozen=True, slots=True)
class StreamResult:
    """A streamed response read to its end, or until the deadline or a transport error."""

    status: int | None
    headers: httpx.Headers
    body: bytes
    #: Seconds from sending the request to each chunk's arrival (streaming must stream, not buffer).
    chunk_times: tuple[float, ...]
    error: str | None
    exchange: Exchange

    @property
    def completed(self) -> bool:
        return self.error is None and self.status is not None


class TargetClient:
    """A pinned, paced, guarded httpx client for one target."""

    def __init__(
        self,
        profile: TargetProfile,
        *,
        transport: httpx.BaseTransport | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.profile = profile
        self.pacer = pacer or Pacer(profile.rate_limit)
        self._origin = _origin(profile.base_url)
        self._http = httpx.Client(
            timeout=httpx.Timeout(profile.timeout),
            follow_redirects=False,
            transport=transport,
            # TLS as `tls.py` decides (schemathesis gets the same); HTTP/2 when the target offers it.
            verify=profile.tls.httpx_verify(),
            http2=_http2_available(),
            headers={"User-Agent": "flowise-conformance"},
        )
        # httpx's HTTP/2 cannot read an early answer (a 413) while the server's flow-control window
        # holds back the rest of a large body: such bodies go over HTTP/1.1, on a client of their own.
        self._large = (
            httpx.Client(timeout=httpx.Timeout(profile.timeout), follow_redirects=False, transport=transport,
                         headers={"User-Agent": "flowise-conformance"}, verify=profile.tls.httpx_verify())
            if _http2_available() else self._http
        )
        self.last: Exchange | None = None
        self.sent = 0
        #: What the run's key may do; set once the run found out (None: every request is sent as is).
        self.permissions: KeyPermissions | None = None
        #: The release line the run judges (the session sets it once known): what it must not be sent.
        self.version: VersionProfile | None = None

    def close(self) -> None:
        self._http.close()
        self._large.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- building requests -------------------------------------------------------------------------

    def url(self, path: str) -> str:
        """`/chatflows` → `<BASE_URL>/api/v1/chatflows`; absolute URLs must stay on BASE_URL's origin."""
        if path.startswith(("http://", "https://")):
            if _origin(path) != self._origin:
                raise OutsideTarget(f"refusing to send a request outside BASE_URL: {path}")
            return path
        if path.startswith("/__") or path.startswith("/api/") or path == "/":
            return self.profile.base_url + path
        return self.profile.api_root + ("" if path.startswith("/") else "/") + path

    def _headers(self, auth: bool | str | None, headers: Mapping[str, str] | None) -> dict[str, str]:
        result = dict(headers or {})
        if auth is True and self.profile.api_key:
            result.setdefault("Authorization", f"Bearer {self.profile.api_key}")
        elif isinstance(auth, str):
            result["Authorization"] = auth if auth.lower().startswith("bearer ") else f"Bearer {auth}"
        return result

    def _guard(self, method: str) -> None:
        if self.profile.read_only and method.upper() not in SAFE_METHODS:
            raise ReadOnlyRefused(f"--read-only run: refusing to send {method.upper()}")

    def _governed(self, method: str, path: str, auth: bool | str | None) -> Operation | None:
        """The operation a request with the run's own key goes to, when the run knows the key's reach;
        raises `OutOfReach` (nothing is sent) when the key is known to lack its permissions."""
        if self.permissions is None or auth is not True or not self.profile.api_key:
            return None
        operation = self.permissions.operation_for(method, urlsplit(self.url(path)).path)
        self.permissions.check(operation)
        return operation

    def _judge(self, operation: Operation | None, response: httpx.Response, json: Any) -> None:
        """Learn from the answer; raise `OutOfReach` when it is a refusal the key's permissions explain."""
        if operation is None or self.permissions is None:
            return
        requested = json.get("permissions") if isinstance(json, dict) and isinstance(json.get("permissions"), list) else None
        refused, contradiction = self.permissions.observe(
            operation, response.status_code, response.content, self.exchange_of(response), requested=requested
        )
        if refused and contradiction is None:
            raise self.permissions.out_of_reach(operation)

    # -- plain requests ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool | str | None = True,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request and read the whole answer; transport errors propagate as httpx errors."""
        method = method.upper()
        self._guard(method)
        operation = self._governed(method, path, auth)
        url = self.url(path)
        request_headers = self._headers(auth, headers)
        body: bytes | None = None
        if json is not None:
            body = jsonlib.dumps(json).encode()
            request_headers.setdefault("Content-Type", "application/json")
        elif isinstance(content, str):
            body = content.encode()
        else:
            body = content
        request = self._http.build_request(
            method,
            url,
            content=body,
            data=data,
            params=params,
            headers=request_headers,
            timeout=httpx.Timeout(timeout) if timeout else httpx.USE_CLIENT_DEFAULT,
        )
        self.pacer.wait()
        self.sent += 1
        started = time.monotonic()
        http = self._large if body is not None and len(body) > H2_WINDOW else self._http
        try:
            response = http.send(request)
        except httpx.TimeoutException:
            self.last = _exchange(request, None, error="timeout", elapsed=time.monotonic() - started)
            raise
        except httpx.TransportError as exc:
            self.last = _exchange(request, None, error=f"connection: {exc}", elapsed=time.monotonic() - started)
            raise
        self.last = _exchange(request, response, elapsed=time.monotonic() - started)
        self._judge(operation, response, json)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def exchange_of(self, response: httpx.Response) -> Exchange:
        """The report-safe record of a response this client received."""
        return _exchange(response.request, response, elapsed=response.elapsed.total_seconds())

    # -- streams -----------------------------------------------------------------------------------

    def stream(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: bool | str | None = True,
        deadline: float | None = None,
    ) -> StreamResult:
        """Send a request and read a streamed answer to its end, giving up at the deadline.

        The deadline (default: the run's timeout) bounds the whole stream, not each read, so a
        server that keeps the connection open without ever ending it is a failure, not a hang.
        """
        method = method.upper()
        self._guard(method)
        url = self.url(path)
        request_headers = self._headers(auth, headers)
        body = jsonlib.dumps(json).encode() if json is not None else None
        if body is not None:
            request_headers.setdefault("Content-Type", "application/json")
        limit = deadline if deadline is not None else self.profile.timeout
        request = self._http.build_request(method, url, content=body, headers=request_headers)
        self.pacer.wait()
        self.sent += 1
        started = time.monotonic()
        chunks: list[bytes] = []
        times: list[float] = []
        status: int | None = None
        response_headers = httpx.Headers()
        error: str | None = None
        response: httpx.Response | None = None
        try:
            response = self._http.send(request, stream=True)
            status = response.status_code
            response_headers = response.headers
            with _closing(response):
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    times.append(time.monotonic() - started)
                    if time.monotonic() - started > limit:
                        error = f"timeout: stream still open after {limit:.1f}s"
                        break
        except httpx.TimeoutException:
            error = f"timeout: no data for {self.profile.timeout:.1f}s"
        except httpx.TransportError as exc:
            error = f"connection: {exc}"
        payload = b"".join(chunks)
        exchange = Exchange.build(
            method=method,
            url=str(request.url),
            request_headers=request.headers.items(),
            request_body=body,
            status=status,
            response_headers=response_headers.items(),
            response_body=payload,
            elapsed=time.monotonic() - started,
            error=error,
        )
        self.last = exchange
        return StreamResult(
            status=status,
            headers=response_headers,
            body=payload,
            chunk_times=tuple(times),
            error=error,
            exchange=exchange,
        )


def _http2_available() -> bool:
    """HTTP/2 is offered (ALPN) when the `h2` package is installed; a proxy in front may accept it."""
    import importlib.util

    return importlib.util.find_spec("h2") is not None


@contextmanager
def _closing(response: httpx.Response) -> Iterator[httpx.Response]:
    try:
        yield response
    finally:
        response.close()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _exchange(
    request: httpx.Request,
    response: httpx.Response | None,
    *,
    error: str | None = None,
    elapsed: float | None = None,
) -> Exchange:
    try:
        body: bytes | None = request.content
    except httpx.RequestNotRead:
        body = None
    return Exchange.build(
        method=request.method,
        url=str(request.url),
        request_headers=request.headers.items(),
        request_body=body,
        status=None if response is None else response.status_code,
        response_headers=() if response is None else response.headers.items(),
        response_body=None if response is None else response.content,
        elapsed=elapsed,
        error=error,
    )
