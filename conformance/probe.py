"""Find out, with a few harmless GET requests, whether the target can be judged and what it offers.

Run before anything else: an unreachable target or a rejected key must end the run at once with one
line (flowise-notes.md: the auth gate answers 401 `{"error": "Unauthorized Access"}` on management
routes, `GET /ping` answers `pong` on every Flowise). Only GET requests, so it is read-only safe.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from conformance.client import TargetClient
from conformance.errors import ApiKeyRejected, TargetUnreachable
from conformance.profile import Capabilities

__all__ = ["probe_target"]


def _reachable(client: TargetClient) -> httpx.Response:
    url = client.url("/ping")
    try:
        response = client.get("/ping", auth=None)
    except httpx.TimeoutException:
        raise TargetUnreachable(f"no answer within {client.profile.timeout:.0f}s", url=url) from None
    except httpx.TransportError as exc:
        raise TargetUnreachable(f"cannot connect: {exc}", url=url) from None
    if response.status_code != 200 or response.text.strip() != "pong":
        raise TargetUnreachable(
            f"GET /api/v1/ping answered {response.status_code} {response.text[:60]!r}, not 'pong': is this Flowise?",
            url=url,
        )
    return response


def _version(client: TargetClient) -> str | None:
    response = client.get("/version", auth=None)
    try:
        data = response.json()
    except ValueError:
        return None
    return str(data.get("version")) if isinstance(data, dict) and data.get("version") else None


def probe_target(client: TargetClient) -> Capabilities:
    """Reachability, auth model, key validity, version; raises when the run cannot go on."""
    _reachable(client)
    capabilities = Capabilities(version=_version(client))
    anonymous = client.get("/chatflows", auth=None)
    # A target given a key is expected to require it: if it also answers without one, that is a
    # defect to report (an auth bypass), not a capability to skip. Only a target reached without
    # a key that answers anyway is taken to have auth off.
    auth_required = anonymous.status_code == 401 or bool(client.profile.api_key)
    capabilities = capabilities.with_reason(
        "auth", "the management API answers without a key and none was given", auth_required=auth_required
    )
    if client.profile.api_key:
        keyed = client.get("/chatflows")
        if keyed.status_code == 401:
            raise ApiKeyRejected("the target answered 401 to the API key given", url=client.url("/chatflows"))
        if keyed.status_code == 403:
            capabilities = capabilities.with_reason("writes", "the API key lacks the chatflows permissions")
    elif auth_required:
        capabilities = capabilities.with_reason(
            "writes", "the target requires an API key and none was given (--api-key / FLOWISE_API_KEY)"
        )
    if client.profile.read_only:
        capabilities = capabilities.with_reason("writes", "--read-only: no writing request is sent")
    elif "writes" not in capabilities.reasons:
        capabilities = replace(capabilities, writes=True)
    mock = client.get("/__mock/state")
    is_mock = mock.status_code == 200 and mock.headers.get("content-type", "").startswith("application/json")
    capabilities = capabilities.with_reason("mock", "the target is not flowise-mock", is_mock=is_mock)
    metrics = client.get("/metrics")
    has_metrics = metrics.status_code == 200 and "text/html" not in metrics.headers.get("content-type", "")
    return capabilities.with_reason(
        "metrics", f"GET /api/v1/metrics answered {metrics.status_code} (ENABLE_METRICS off?)", metrics=has_metrics
    )
