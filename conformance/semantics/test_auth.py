"""Auth: the gate refuses what needs a key, lets public routes through, and enforces bound keys.

Flowise 3.x gates every `/api/v1` route that is not on its public list with an API key, answering
401 `{"error": "Unauthorized Access"}` to a missing or wrong one (docs/auth.md#the-auth-gate);
public routes (prediction, feedback, leads, ping, ...) need nothing; a chatflow with `apikeyid`
answers predictions only with that very key; a key without the permission gets 403.

Requests to operations that need a key are sent without one (or with a wrong one) to ids that name
nothing and with empty bodies, so even a server with no auth at all changes nothing. In a
read-only run only GET operations are probed.
"""

from __future__ import annotations

import json

import pytest

from conformance.checks import errors as error_checks
from conformance.families import FAMILIES
from conformance.fixtures import direct_reply_flow_data
from conformance.semantics.support import (
    create,
    expect_status,
    grantable,
    predict,
    random_id,
    record_if_created,
)
from conformance.spec import Operation
from conformance.violations import expect

pytestmark = pytest.mark.flowise(area="auth")

WRONG_KEY = "conformance-wrong-key-" + "x" * 22


def _send(client, operation: Operation, *, auth):
    path = operation.concrete_path(default=random_id())
    if operation.writes:
        return client.request(operation.method, path, json={}, auth=auth)
    return client.request(operation.method, path, auth=auth)


def _gated(spec) -> list[Operation]:
    return [operation for operation in spec if operation.needs_key]


def _refuses(client, ledger, operation: Operation, *, auth, check: str) -> None:
    if operation.writes and client.profile.read_only:
        pytest.skip("--read-only: only GET operations are probed")
    response = _send(client, operation, auth=auth)
    for family in FAMILIES.values():
        if operation.method == "POST" and family.collection == operation.path:
            # A server that lets the request through may have created something: clean it up.
            record_if_created(ledger, family.kind, response)
    expect(
        error_checks.unauthorized_body_is_flowise(response.status_code, response.headers.items(), response.content),
        check=check,
        operation=operation.operation_id,
        exchange=client.exchange_of(response),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`gated_operation`: every operation behind the gate (known only once the spec is loaded)."""
    if "gated_operation" not in metafunc.fixturenames:
        return
    from conformance.plugin import SESSION_KEY

    session = metafunc.config.stash.get(SESSION_KEY, None)
    operations = _gated(session.spec) if session is not None else []
    metafunc.parametrize("gated_operation", operations, ids=[operation.operation_id for operation in operations])


@pytest.mark.flowise(requires=("auth",))
def test_anonymous_is_refused(gated_operation: Operation, flowise_client, flowise_ledger) -> None:
    """No key: 401 {"error": "Unauthorized Access"}."""
    _refuses(flowise_client, flowise_ledger, gated_operation, auth=None, check="anonymous_is_refused")


@pytest.mark.flowise(requires=("auth",))
def test_wrong_key_is_refused(gated_operation: Operation, flowise_client, flowise_ledger) -> None:
    """A key that does not exist: 401 {"error": "Unauthorized Access"}."""
    _refuses(flowise_client, flowise_ledger, gated_operation, auth=WRONG_KEY, check="wrong_key_is_refused")


def test_public_reads_need_no_key(flowise_client, flowise_spec, flowise_caps) -> None:
    """Public GET operations answer without a key (never 401 from the gate)."""
    client = flowise_client
    chatflow = flowise_caps.answering_chatflow or random_id()
    for operation in flowise_spec:
        if not operation.public or operation.writes:
            continue
        values = {"id": chatflow, "chatflowid": chatflow}
        response = client.request(operation.method, operation.concrete_path(values, default=random_id()), auth=None)
        expect(
            not (response.status_code == 401 and response.content.strip().startswith(b'{"error"')),
            check="public_operation_needs_no_key",
            operation=operation.operation_id,
            message=f"{operation.method} {operation.path} was refused by the auth gate",
            exchange=client.exchange_of(response),
        )


@pytest.mark.flowise(operation="createPrediction", writes=True, requires=("answering",))
def test_prediction_needs_no_key(flowise_client, flowise_chatflow) -> None:
    """Prediction is public for a chatflow without a bound key."""
    predict(flowise_client, flowise_chatflow, {"question": "no key needed"}, auth=None, check="prediction_is_public")


@pytest.fixture(scope="module")
def bound_chatflow(flowise_client, flowise_ledger, flowise_unique, flowise_permissions):
    """An API key of this run, and a Direct Reply chatflow bound to it (`apikeyid`)."""
    client, ledger = flowise_client, flowise_ledger
    permissions = grantable(flowise_permissions)
    if permissions is None:
        pytest.skip("the run's key holds no permission it could give a second key")
    key = create(
        client, ledger, "apikey", {"keyName": flowise_unique("bound-key"), "permissions": permissions}, operation="createApiKey"
    )
    chatflow = create(
        client,
        ledger,
        "chatflow",
        {"name": flowise_unique("bound"), "flowData": direct_reply_flow_data(), "type": "AGENTFLOW", "apikeyid": key["id"]},
        operation="createChatflow",
    )
    return chatflow["id"], key["apiKey"]


@pytest.mark.flowise(operation="createPrediction", writes=True, requires=("answering",))
def test_bound_key_is_enforced(flowise_client, bound_chatflow) -> None:
    """With `apikeyid` set: no key → 401, a wrong key → 401, another valid key → 401, the bound key → 200."""
    chatflow, key = bound_chatflow
    client = flowise_client
    for label, auth in (("no key", None), ("a wrong key", WRONG_KEY), ("another valid key", True)):
        if auth is True and not client.profile.api_key:
            continue
        response = client.post(f"/prediction/{chatflow}", json={"question": "hi"}, auth=auth)
        expect_status(
            client,
            response,
            401,
            check="chatflow_key_is_enforced",
            operation="createPrediction",
            message=f"prediction on a key-bound chatflow with {label}",
        )
    predict(client, chatflow, {"question": "hi"}, auth=key, check="chatflow_key_is_accepted")


@pytest.mark.flowise(operation="createChatflow", writes=True)
def test_missing_permission_is_403(flowise_client, flowise_ledger, flowise_unique, flowise_spec, flowise_permissions) -> None:
    """A key without createChatflow's permissions (e.g. only chatflows:view) cannot create a chatflow:
    403 {"message": "Forbidden"}. The second key gets a permission the run's key holds (it could give no other)."""
    client = flowise_client
    permissions = grantable(flowise_permissions, avoiding=flowise_spec["createChatflow"].permissions)
    if permissions is None:
        pytest.skip("the run's key holds no permission outside createChatflow's that it could give a second key")
    key = create(
        client, flowise_ledger, "apikey", {"keyName": flowise_unique("view-only"), "permissions": permissions}, operation="createApiKey"
    )
    body = {"name": flowise_unique("forbidden"), "flowData": json.dumps({"nodes": [], "edges": []}), "type": "CHATFLOW"}
    response = client.post("/chatflows", json=body, auth=key["apiKey"])
    record_if_created(flowise_ledger, "chatflow", response)
    expect(
        error_checks.forbidden_body_is_flowise(response.status_code, response.headers.items(), response.content),
        check="missing_permission_is_403",
        operation="createChatflow",
        exchange=client.exchange_of(response),
    )
