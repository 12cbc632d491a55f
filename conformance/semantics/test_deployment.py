"""The deployment in front of Flowise: what a proxy, a load balancer or TLS set-up must not break.

A proxy may rewrite hop-by-hop headers or answer some requests itself (those findings are the
proxy's, `deployment.py` attributes them); these checks fail for what harms every client of the
deployment: streams buffered until the answer is complete, Flowise's JSON errors replaced by HTML
pages, a body cap below Flowise's own limit. (A proxy that drops `Authorization` ends the run at
its start, with the diagnosis, since no key can then work.) docs/deployment.md says how to fix each.
"""

from __future__ import annotations

import pytest

from conformance.deployment import errors_stay_json, generated_by_proxy, stream_timing
from conformance.profile import parse_size
from conformance.semantics.support import new_chat_id, random_id
from conformance.violations import Violation, expect

pytestmark = pytest.mark.flowise(area="deployment", tags=("prediction",))

#: Flowise's default FLOWISE_FILE_SIZE_LIMIT, assumed when the run is not told the target's.
FLOWISE_DEFAULT_LIMIT = parse_size("50mb")
#: The pace asked of flowise-mock (ignored by a real Flowise, whose model sets its own pace).
MOCK_PACE = {"X-Mock-TTFT-Ms": "150", "X-Mock-ITL-Ms": "40"}


@pytest.mark.flowise(operation="createPrediction", writes=True, requires=("streaming",))
def test_stream_is_not_buffered(flowise_client, flowise_chatflow, flowise_ledger, flowise_caps) -> None:
    """The first token reaches the client before the stream ends: nothing in front buffers it."""
    headers = MOCK_PACE if flowise_caps.is_mock else None
    # A chatflow with a model streams token by token (a Direct Reply sends its text as one token).
    chatflow = flowise_caps.memory_chatflow or flowise_chatflow
    body = {"question": "Tell me a long story, one token at a time.", "chatId": new_chat_id(flowise_ledger),
            "streaming": True}
    result = flowise_client.stream("POST", f"/prediction/{chatflow}", json=body, headers=headers)
    if not result.completed:
        raise Violation(f"the stream did not complete: {result.error}", check="stream_is_not_buffered",
                        operation="createPrediction", exchange=result.exchange)
    finding = stream_timing(result.chunk_times)
    if finding.ok is None:
        pytest.skip(f"cannot judge buffering: {finding.message}")
    expect(finding.ok, check="stream_is_not_buffered", operation="createPrediction", message=finding.message,
           exchange=result.exchange)


@pytest.mark.flowise(operation="errors", requires=("auth",))
def test_errors_stay_json(flowise_client, flowise_profile) -> None:
    """Flowise's error answers arrive as Flowise wrote them, JSON, not as a proxy's HTML page."""
    exchanges = []
    anonymous = flowise_client.get("/chatflows", auth=None)  # 401 {"error": "Unauthorized Access"}
    exchanges.append(flowise_client.exchange_of(anonymous))
    if flowise_profile.api_key:
        # 404 (or Flowise 3.1's wrapped 500) for an id that names nothing; 403 JSON if the key may not read.
        key = {"Authorization": f"Bearer {flowise_profile.api_key}"}
        missing = flowise_client.get(f"/chatflows/{random_id()}", auth=None, headers=key)
        exchanges.append(flowise_client.exchange_of(missing))
    exchanges = [exchange for exchange in exchanges if exchange.status is not None and exchange.status >= 400]
    if not exchanges:
        pytest.skip("the target answered no error to judge")
    finding = errors_stay_json(exchanges)
    expect(finding.ok, check="errors_stay_json", message=finding.message, exchange=finding.exchange)


@pytest.mark.flowise(operation="createPrediction", writes=True)
def test_body_limit_reaches_flowise(flowise_client, flowise_profile, flowise_session) -> None:
    """A body just under Flowise's limit reaches Flowise: nothing in front caps bodies lower."""
    limit = flowise_profile.max_body or FLOWISE_DEFAULT_LIMIT
    if limit > 64 * 1024 * 1024:
        pytest.skip(f"Flowise's body limit {limit} bytes: too large to send from a test")
    size = max(1, limit - 16 * 1024)
    response = flowise_client.post(f"/prediction/{random_id()}", json={"question": "x" * size}, auth=None)
    exchange = flowise_client.exchange_of(response)
    said = "--max-body" if flowise_profile.max_body else "Flowise's default FLOWISE_FILE_SIZE_LIMIT (50mb; --max-body sets it)"
    deployment = flowise_session.deployment
    writer = generated_by_proxy(exchange, proxy=deployment.proxy, fingerprint=deployment.fingerprint)
    if response.status_code == 413 or writer is not None:
        if writer is None and "json" in response.headers.get("content-type", ""):
            pytest.skip(f"Flowise itself refused {size} bytes: its limit is below {said}")
        raise Violation(f"a {size}-byte body, under Flowise's limit of {limit} bytes ({said}), was answered "
                        f"{response.status_code} by the proxy "
                        "before it reached Flowise: the proxy in front caps bodies lower (nginx: "
                        "client_max_body_size; Caddy: request_body max_size)", check="body_limit_reaches_flowise",
                        operation="createPrediction", exchange=exchange)


def test_tls_verified(flowise_profile, flowise_session) -> None:
    """An https:// target's certificate was verified (`--insecure` is a warning, not a pass)."""
    if not flowise_profile.base_url.startswith("https://"):
        pytest.skip("the target is plain http: nothing between the client and Flowise is encrypted")
    if flowise_profile.tls.insecure:
        pytest.skip("warning: --insecure: the target's certificate was not verified")
    assert flowise_session.deployment.scheme == "https"
