"""Find out, with a few harmless GET requests, whether the target can be judged and what it offers.

Run before anything else: an unreachable target or a rejected key must end the run at once with one
line (docs/auth.md#the-auth-gate: the auth gate answers 401 `{"error": "Unauthorized Access"}` on management
routes, `GET /ping` answers `pong` on every Flowise). Only GET requests, so it is read-only safe.

`discover_permissions` then finds out what the key may do (see `permissions.py`): its own entry in
`GET /apikey` when the key may list keys, else what the collections' lists answer it.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

import httpx

from conformance.client import TargetClient
from conformance.errors import ApiKeyRejected, TargetUnreachable
from conformance.families import FAMILIES
from conformance.permissions import KeyPermissions, Reach, is_json, own_permissions
from conformance.profile import Capabilities
from conformance.spec import SpecIndex

__all__ = ["absent_id", "discover_permissions", "probe_target"]


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
            from conformance.deployment import diagnose_rejected_key

            raise ApiKeyRejected(diagnose_rejected_key(client) or "the target answered 401 to the API key given",
                                 url=client.url("/chatflows"))
        # A 403 here is not the end of writing: the key may be scoped to other families
        # (`discover_permissions` finds out which, and each check skips what the key cannot reach).
    elif auth_required:
        capabilities = capabilities.with_reason(
            "writes", "the target requires an API key and none was given (--api-key / FLOWISE_API_KEY)"
        )
    if client.profile.read_only:
        capabilities = capabilities.with_reason("writes", "--read-only: no writing request is sent")
    elif "writes" not in capabilities.reasons:
        capabilities = replace(capabilities, writes=True)
    mock = client.get("/__mock/state")
    # flowise-mock's control surface answers a key that may not use it with its own 403 JSON: still the mock.
    is_mock = mock.status_code in (200, 403) and mock.headers.get("content-type", "").startswith("application/json")
    capabilities = capabilities.with_reason("mock", "the target is not flowise-mock", is_mock=is_mock)
    metrics = client.get("/metrics")
    has_metrics = metrics.status_code == 200 and "text/html" not in metrics.headers.get("content-type", "")
    return capabilities.with_reason(
        "metrics", f"GET /api/v1/metrics answered {metrics.status_code} (ENABLE_METRICS off?)", metrics=has_metrics
    )


def absent_id(run_id: str, label: str) -> str:
    """An id that names nothing on any target, recognisably this run's (a UUID derived from both)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"flowise-conformance:{run_id}:absent:{label}"))


def discover_permissions(client: TargetClient, spec: SpecIndex, *, deletes: bool = False) -> KeyPermissions:
    """What the run's key may do: read from its own `GET /apikey` entry, else learned from the lists.

    Without the read, each collection's list (`GET /chatflows`, `/tools`, ...) tells whether the key
    holds one of that list's permissions (2xx) or none (403); the rest is learned from the answers
    of the run itself. With `deletes` (a run that may write), each family's delete is asked for an
    id that names nothing, so the run knows before creating anything whether it could delete it again.
    """
    key = client.profile.api_key
    if not key:
        return KeyPermissions(spec, source="no API key given")
    listing = spec.find("GET", "/apikey")
    response = client.get("/apikey")
    if response.status_code == 200:
        try:
            held = own_permissions(response.json(), key)
        except ValueError:
            held = None
        if held is not None:
            return KeyPermissions(spec, held=held, source="read from the key's own entry in GET /apikey")
        source = "the key's own entry is not in GET /apikey"
    else:
        source = f"GET /apikey answered {response.status_code}"
    permissions = KeyPermissions(spec, source=source)
    permissions.observe(listing, response.status_code, response.content, client.exchange_of(response))
    for operation in spec:
        if operation is listing or operation.method != "GET" or operation.path_params:
            continue
        if not operation.permissions or not operation.needs_key:
            continue
        answer = client.get(operation.path)
        permissions.observe(operation, answer.status_code, answer.content, client.exchange_of(answer))
    if deletes:
        for family in FAMILIES.values():
            delete = spec.find("DELETE", family.item)
            if delete is None or permissions.reach(delete) is not Reach.UNKNOWN:
                continue
            answer = client.delete(family.item_path(absent_id(client.profile.run_id, family.kind)))
            if answer.status_code in (401, 403):
                permissions.observe(delete, answer.status_code, answer.content, client.exchange_of(answer))
            elif is_json(answer.content):  # 200 `affected: 0`, 404 or a wrapped 500: the handler answered
                permissions.passed(delete, client.exchange_of(answer))
    return permissions
