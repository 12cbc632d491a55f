"""The deployment in front of Flowise: which proxy answers, what it may change, and what it breaks.

Production Flowise sits behind nginx, Caddy or a cloud load balancer that terminates TLS (often with
HTTP/2). Such a proxy legitimately drops or rewrites hop-by-hop headers (`Connection`, and HTTP/2 has
none), consumes its own control headers (nginx's `X-Accel-*`), answers some requests itself with its
own pages (nginx refuses `TRACE` with an HTML 405) and re-chunks streams. None of that is Flowise's
behaviour, so a failed check caused by it is attributed to the proxy (`attribute`): reported with
status `proxy` (informational, or a warning where it harms clients), never as a Flowise failure.

What harms every client of the deployment still fails, as checks of the `deployment` area
(`semantics/test_deployment.py` runs them; the functions here do the work):
- a stream the proxy buffers, so the first token arrives only with the end (`stream_is_not_buffered`);
- `Authorization` not forwarded, so every key looks wrong (`diagnose_rejected_key`, used by the probe);
- a body cap below Flowise's own limit (`proxy_allows_flowise_body_limit`);
- Flowise's JSON errors replaced by HTML pages (`errors_stay_json`).
See docs/deployment.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.exchange import REDACTED, Exchange
from conformance.outcomes import DeviationRef

__all__ = [
    "Deployment",
    "Finding",
    "ProxyInfo",
    "attribute",
    "errors_stay_json",
    "generated_by_proxy",
    "header_only_problem",
    "recognise_proxy",
    "self_call_failure",
    "stream_timing",
]

REFERENCE = "docs/deployment.md"
#: Headers a proxy must or may drop (RFC 9110 "Connection"; HTTP/2 forbids them, RFC 9113 "Connection-Specific Header Fields").
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"})
#: Headers meant for the proxy itself, which it consumes (nginx's X-Accel-* family).
PROXY_CONTROL = frozenset({"x-accel-buffering", "x-accel-redirect", "x-accel-limit-rate", "x-accel-charset",
                           "x-accel-expires"})

#: The checks of `semantics/test_deployment.py`: failures of the deployment, never attributed away.
DEPLOYMENT_CHECKS = frozenset({"stream_is_not_buffered", "errors_stay_json", "body_limit_reaches_flowise",
                               "tls_verified", "authorization_reaches_flowise"})

# -- recognising the proxy -------------------------------------------------------------------------

#: (proxy, header, regex on its value): the marks proxies leave on the answers they pass on.
_MARKS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("nginx", "server", re.compile(r"^nginx\b", re.I)),
    ("OpenResty", "server", re.compile(r"^openresty\b", re.I)),
    ("Caddy", "server", re.compile(r"^caddy\b", re.I)),
    ("Apache httpd", "server", re.compile(r"^apache\b", re.I)),
    ("Cloudflare", "server", re.compile(r"^cloudflare\b", re.I)),
    ("Cloudflare", "cf-ray", re.compile(r".")),
    ("AWS Elastic Load Balancing", "server", re.compile(r"^awselb\b", re.I)),
    ("Amazon CloudFront", "x-amz-cf-id", re.compile(r".")),
    ("Envoy", "server", re.compile(r"^envoy\b", re.I)),
    ("Envoy", "x-envoy-upstream-service-time", re.compile(r".")),
    ("Google Cloud Load Balancing", "via", re.compile(r"\bgoogle\b", re.I)),
    ("Azure Front Door", "x-azure-ref", re.compile(r".")),
    ("Varnish", "x-varnish", re.compile(r".")),
    ("Caddy", "via", re.compile(r"\bcaddy\b", re.I)),
)
#: Bodies of error pages proxies write themselves: (proxy, regex on the body).
_PAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("nginx", re.compile(r"<hr><center>nginx(?:/[\d.]+)?</center>", re.I)),
    ("OpenResty", re.compile(r"<hr><center>openresty(?:/[\d.]+)?</center>", re.I)),
    ("AWS Elastic Load Balancing", re.compile(r"<center>awselb/[\d.]+</center>", re.I)),
    ("Apache httpd", re.compile(r"<address>Apache(?:/[\d.]+)?[^<]* Server at ", re.I)),
    ("Cloudflare", re.compile(r"cf-error-details|<title>[^<]*\| Cloudflare</title>", re.I)),
    ("Google Cloud Load Balancing", re.compile(r"<title>Error \d{3} \([^)]*\)!!1</title>")),
    ("Envoy", re.compile(r"^(?:upstream connect error or disconnect/reset before headers|no healthy upstream|"
                         r"upstream request timeout)")),
)


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    """A proxy recognised in front of the target, and the evidence."""

    name: str
    evidence: str


def _header_items(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(str(name).lower(), str(value)) for name, value in items]


def recognise_proxy(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> ProxyInfo | None:
    """The proxy whose mark the headers of an answer carry (None when there is none)."""
    items = _header_items(headers)
    for name, header, pattern in _MARKS:
        for key, value in items:
            if key == header and pattern.search(value):
                return ProxyInfo(name=name, evidence=f"{key}: {value}")
    return None


def generated_by_proxy(exchange: Exchange | None, *, proxy: ProxyInfo | None = None,
                       fingerprint: frozenset[str] = frozenset()) -> str | None:
    """The proxy that wrote this response itself (Flowise never saw the request), or None.

    Evidence: a body that is a known proxy's own error page; or, with a proxy recognised, an error
    answer that has no JSON body and none of the headers Flowise puts on every answer (`fingerprint`,
    learned from `GET /ping` through the proxy). Caddy's own refusals are empty-bodied like that.
    """
    if exchange is None or exchange.status is None:
        return None
    body = exchange.response_body or ""
    for name, pattern in _PAGES:
        if pattern.search(body):
            return name
    if proxy is None or exchange.status < 400 or not fingerprint:
        return None
    names = {key.lower() for key in exchange.response_headers}
    if names & fingerprint:
        return None
    try:
        json.loads(body)
    except ValueError:
        return proxy.name
    return None


_HEADER_PROBLEM = re.compile(r"(?:missing header|header) ([A-Za-z0-9-]+)")


def header_only_problem(message: str) -> frozenset[str] | None:
    """The header names a failure message is about, when it is about nothing else (else None)."""
    start = _HEADER_PROBLEM.search(message)
    if start is None:
        return None
    names = set()
    for part in message[start.start():].split("; "):
        match = _HEADER_PROBLEM.match(part.strip())
        if match is None:
            return None
        names.add(match.group(1).lower())
    return frozenset(names)


# -- the deployment as the run found it ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deployment:
    """What the run learned of the path to Flowise: TLS, HTTP version, the proxy in front."""

    scheme: str = "http"
    http_version: str | None = None
    proxy: ProxyInfo | None = None
    #: Headers Flowise puts on every answer that a proxy does not add (seen on `GET /ping`).
    fingerprint: frozenset[str] = frozenset()
    tls: str = ""
    path_prefix: str = ""
    #: Flowise's body limit when known (`--max-body`): a 502 on a body over it is the proxy relaying a refusal.
    max_body: int | None = None

    @property
    def behind_proxy(self) -> bool:
        """A proxy is recognised, or the answer came over HTTP/2 (Flowise itself speaks HTTP/1.1)."""
        return self.proxy is not None or (self.http_version or "").upper().startswith("HTTP/2")

    def describe(self) -> str:
        parts = [f"{self.scheme.upper()}" + (f" ({self.tls})" if self.scheme == "https" and self.tls else "")]
        if self.http_version:
            parts.append(self.http_version)
        if self.proxy is not None:
            parts.append(f"behind {self.proxy.name} ({self.proxy.evidence})")
        elif self.behind_proxy:
            parts.append("behind an unrecognised proxy")
        else:
            parts.append("no proxy recognised")
        if self.path_prefix:
            parts.append(f"served under {self.path_prefix}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "scheme": self.scheme,
            "http_version": self.http_version,
            "proxy": None if self.proxy is None else self.proxy.name,
            "proxy_evidence": None if self.proxy is None else self.proxy.evidence,
            "tls": self.tls,
            "path_prefix": self.path_prefix,
            "summary": self.describe(),
        }

    def attribute(self, *, check: str, operation: str, exchange: Exchange | None, message: str) -> DeviationRef | None:
        return attribute(self, check=check, operation=operation, exchange=exchange, message=message)


# Fingerprint candidates: headers a proxy in front adds or rewrites, never Flowise's own mark.
_NOT_FINGERPRINT = frozenset({"server", "date", "content-length", "content-type", "connection", "keep-alive",
                              "transfer-encoding", "via", "alt-svc", "strict-transport-security", "x-request-id",
                              "cf-ray", "x-amz-cf-id", "x-amz-cf-pop", "x-cache", "age", "etag", "last-modified",
                              "x-azure-ref", "x-varnish", "x-envoy-upstream-service-time", "accept-ranges"})


def survey(response: Any, *, base_url: str, tls: str = "", max_body: int | None = None) -> Deployment:
    """The deployment as one answer through it shows it (an httpx response to `GET /api/v1/ping`)."""
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    items = _header_items(response.headers.multi_items())
    fingerprint = frozenset(name for name, _ in items if name not in _NOT_FINGERPRINT) if items else frozenset()
    return Deployment(
        scheme=parts.scheme,
        http_version=getattr(response, "http_version", None),
        proxy=recognise_proxy(items),
        fingerprint=fingerprint,
        tls=tls,
        path_prefix=parts.path.rstrip("/"),
        max_body=max_body,
    )


def attribute(deployment: Deployment, *, check: str, operation: str, exchange: Exchange | None,
              message: str) -> DeviationRef | None:
    """Whether a failed check is the proxy's doing: a reference saying what it did, or None (then it
    is Flowise's, and fails as usual). A 502 is never attributed: Flowise did not answer at all; nor is
    a failed deployment check, whose very subject is what the proxy does."""
    if check in DEPLOYMENT_CHECKS:
        return None
    writer = generated_by_proxy(exchange, proxy=deployment.proxy, fingerprint=deployment.fingerprint)
    if writer is not None and exchange is not None and exchange.status == 502 and _over(exchange, deployment.max_body):
        return DeviationRef(
            id="proxy-answered", reference=f"{REFERENCE}#answers-the-proxy-writes",
            summary=f"Flowise refused a body over its limit and closed the connection before reading it all; "
                    f"{writer} reported that as its own 502",
        )
    if writer is not None and exchange is not None and exchange.status != 502:
        if exchange.status == 504:
            return DeviationRef(
                id="proxy-timeout", reference=f"{REFERENCE}#proxy-timeouts",
                summary=f"warning: {writer} gave up waiting for Flowise and answered 504 itself: its read "
                        "timeout is shorter than this request took (clients of long predictions get the same)",
            )
        return DeviationRef(
            id="proxy-answered", reference=f"{REFERENCE}#answers-the-proxy-writes",
            summary=f"{writer} answered {exchange.method} with its own {exchange.status} page; "
                    "Flowise never saw the request",
        )
    names = header_only_problem(message)
    if names and deployment.behind_proxy and names <= (HOP_BY_HOP | PROXY_CONTROL):
        return DeviationRef(
            id="proxy-headers", reference=f"{REFERENCE}#headers-a-proxy-may-drop",
            summary=f"{', '.join(sorted(names))}: hop-by-hop or proxy-control headers, which the proxy in front "
                    "(or HTTP/2) drops or consumes by design",
        )
    return None


def _over(exchange: Exchange, limit: int | None) -> bool:
    length = next((value for name, value in exchange.request_headers.items() if name.lower() == "content-length"), "")
    return limit is not None and length.isdigit() and int(length) > limit


# -- the deployment checks ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding:
    """What a deployment check concluded: `ok`, and a sentence for the report."""

    ok: bool | None
    message: str
    exchange: Exchange | None = None
    details: dict[str, object] = field(default_factory=dict)


def stream_timing(chunk_times: tuple[float, ...], token_times: tuple[float, ...] | None = None, *,
                  minimum: float = 0.4) -> Finding:
    """Whether a stream streamed: the first token must arrive well before the stream ends.

    `chunk_times`: seconds from the request to each chunk's arrival; `token_times` (when known) the
    arrival of the chunks that carried a `token` event. A stream shorter than `minimum` seconds
    cannot tell buffering from speed (ok None).
    """
    if not chunk_times:
        return Finding(None, "the stream carried no data")
    end = chunk_times[-1]
    first = (token_times or chunk_times)[0]
    span = end - first
    details = {"first_token_s": round(first, 3), "end_s": round(end, 3), "chunks": len(chunk_times)}
    if end < minimum:
        return Finding(None, f"the stream ended after {end:.2f}s, too soon to tell streaming from buffering",
                       details=details)
    if span < 0.1 * end:
        return Finding(False, f"buffered: the first token arrived {first:.2f}s after the request, with the end "
                              f"of the stream ({end:.2f}s); clients see nothing until the answer is complete "
                              "(nginx: proxy_buffering off, or keep Flowise's X-Accel-Buffering: no; "
                              "Caddy: flush_interval -1)", details=details)
    return Finding(True, f"streamed: first token at {first:.2f}s, end at {end:.2f}s, {len(chunk_times)} chunks",
                   details=details)


def errors_stay_json(exchanges: Iterable[Exchange]) -> Finding:
    """Flowise answers errors with JSON bodies; a proxy that replaces them with HTML pages breaks
    every client that reads `message` (the embed widget, SDKs)."""
    seen = list(exchanges)
    html = [exchange for exchange in seen if exchange.status is not None and exchange.status >= 400
            and "json" not in exchange.content_type.lower()]
    if html:
        first = html[0]
        return Finding(False, f"{first.method} {first.url} answered {first.status} {first.content_type or 'without a type'} "
                              "instead of Flowise's JSON error: the proxy replaces Flowise's error bodies "
                              "(nginx: proxy_intercept_errors / error_page; Caddy: handle_response)",
                       exchange=first)
    return Finding(True, f"{len(seen)} error answers kept Flowise's JSON bodies")


def diagnose_rejected_key(client: Any) -> str | None:
    """Why a key the target refuses (401) may be right after all: a proxy that drops `Authorization`.

    Asked only once the key was refused: Flowise's public `GET /verify/apikey/<key>` checks the key
    without the header. When it accepts the key, the header never reached Flowise. (The key is then
    in a URL, which proxies log; the record of that request keeps it out of reports.)
    """
    import httpx

    key = client.profile.api_key
    if not key:
        return None
    try:
        answer = client.get(f"/verify/apikey/{key}", auth=None)
    except httpx.HTTPError:
        return None
    finally:
        if client.last is not None:
            from dataclasses import replace

            client.last = replace(client.last, url=client.last.url.replace(key, REDACTED))
    if answer.status_code != 200:
        return None
    return ("deployment: the key is valid (Flowise's GET /api/v1/verify/apikey/<key> accepts it), but every request "
            "carrying it in Authorization answers 401: the proxy in front does not forward the Authorization "
            "header to Flowise (nginx: a `proxy_set_header Authorization` that clears it; Caddy: "
            "`header_up -Authorization`), so no client's key can work")


#: What Node says when Flowise cannot call itself at the address a request came in by.
_SELF_CALL_ERRORS = ("ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "unable to verify the first certificate",
                     "self-signed certificate", "self signed certificate", "certificate has expired",
                     "Hostname/IP does not match certificate")


def self_call_failure(text: str) -> str | None:
    """The network error in a 500 of a flow that calls Flowise itself (Execute Flow), if there is one: then
    the deployment, not the flow, is at fault (docs/deployment.md#flowise-calls-itself)."""
    return next((error for error in _SELF_CALL_ERRORS if error in text), None)

