"""Per-chatflow rate limit: 429 with Retry-After and the configured message, once over the limit.

Flowise builds limiters from `apiConfig.rateLimit` and refreshes them only on `PUT /chatflows/{id}`
(docs/limits.md#rate-limits), so the chatflow is created with the limit and then PUT with it: a
client that configures a limit through the API must see it applied after that update.
"""

from __future__ import annotations

import json

import pytest

from conformance.fixtures import direct_reply_flow_data
from conformance.semantics.support import create, expect_status
from conformance.violations import expect

pytestmark = pytest.mark.flowise(
    area="ratelimit", tags=("prediction", "chatflows"), operation="createPrediction", writes=True, requires=("answering",)
)

LIMIT = 2


def test_rate_limit_is_enforced(flowise_client, flowise_ledger, flowise_unique) -> None:
    """limitMax 2 per 60 s: the third prediction gets 429, Retry-After and limitMsg as the body."""
    client = flowise_client
    message = flowise_unique("slow down")
    api_config = json.dumps(
        {"rateLimit": {"status": True, "limitMax": LIMIT, "limitDuration": 60, "limitMsg": message}}
    )
    chatflow = create(
        client,
        flowise_ledger,
        "chatflow",
        {"name": flowise_unique("rate-limited"), "flowData": direct_reply_flow_data(), "type": "AGENTFLOW", "apiConfig": api_config},
        operation="createChatflow",
    )
    update = client.put(f"/chatflows/{chatflow['id']}", json={"apiConfig": api_config})
    expect_status(client, update, 200, check="rate_limit_config_update", operation="updateChatflow")
    statuses = []
    response = None
    for _ in range(LIMIT + 1):
        response = client.post(f"/prediction/{chatflow['id']}", json={"question": "count me"})
        statuses.append(response.status_code)
    assert response is not None
    exchange = client.exchange_of(response)
    expect(
        statuses[:LIMIT] == [200] * LIMIT and statuses[LIMIT] == 429,
        check="rate_limit_is_enforced",
        message=f"statuses {statuses} for {LIMIT + 1} predictions with limitMax {LIMIT}",
        exchange=exchange,
    )
    expect(
        response.headers.get("retry-after", "").strip().isdigit(),
        check="rate_limit_has_retry_after",
        message=f"Retry-After is {response.headers.get('retry-after')!r}",
        exchange=exchange,
    )
    expect(
        message in response.text,
        check="rate_limit_message_is_limit_msg",
        message=f"the 429 body is {response.text[:200]!r}, expected the chatflow's limitMsg",
        exchange=exchange,
    )
