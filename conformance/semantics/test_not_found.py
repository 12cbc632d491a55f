"""Unknown ids answer 404 with the Flowise error body; unknown routes answer 404, not a web page.

Real Flowise often wraps a missing id into a 500 (`missing-id-500`) and serves its UI for unknown
routes (`unknown-route-html`); those are known deviations, reported as such. Reads are probed in
every run; writes (PUT, DELETE) to ids that name nothing only in read-write runs.
"""

from __future__ import annotations

import pytest

from conformance.semantics.support import expect_error_shape, expect_status, grantable, random_id
from conformance.spec import Operation

pytestmark = pytest.mark.flowise(area="not-found")

#: Not a resource id in the path (a key, a run of a flow), or tested elsewhere.
EXCLUDED = frozenset({"getChatflowByApiKey", "verifyApiKey", "createPrediction", "vectorUpsert", "abortChatMessage"})
#: Lists of a chatflow's children: Flowise answers an empty list for an unknown parent, and the spec
#: does not say which it must be, so they are not judged here.
PARENT_LISTS = frozenset(
    {
        "getAllChatMessages",
        "removeAllChatMessages",
        "getAllChatMessageFeedback",
        "getAllLeadsForChatflow",
        "getAllUpsertHistory",
    }
)
#: Bodies that pass validation, so the lookup (not the validator) decides the status (an API key's
#: permissions are then replaced by ones the run's key holds: Flowise checks that before the lookup).
VALID_BODIES = {"updateApiKey": {"keyName": "conformance-absent", "permissions": ["chatflows:view"]}}


def _by_id(spec) -> list[Operation]:
    """Operations on one resource id that document a 404 (POSTs create or run, they are elsewhere)."""
    return [
        operation
        for operation in spec
        if operation.operation_id not in EXCLUDED | PARENT_LISTS
        and len(operation.path_params) == 1
        and operation.method != "POST"
        and "404" in operation.statuses
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "by_id_operation" not in metafunc.fixturenames:
        return
    from conformance.plugin import SESSION_KEY

    session = metafunc.config.stash.get(SESSION_KEY, None)
    operations = _by_id(session.spec) if session is not None else []
    metafunc.parametrize("by_id_operation", operations, ids=[operation.operation_id for operation in operations])


def test_unknown_id_is_404(by_id_operation: Operation, flowise_client, flowise_profile, flowise_permissions) -> None:
    """An id that names nothing: 404 with `{statusCode: 404, success: false, message, stack}`."""
    operation = by_id_operation
    if operation.writes and flowise_profile.read_only:
        pytest.skip("--read-only: only GET operations are probed")
    if operation.writes and not flowise_profile.capabilities.writes:
        pytest.skip(f"target cannot: writes: {flowise_profile.capabilities.why_not('writes')}")
    path = operation.concrete_path(default=random_id())
    body = VALID_BODIES.get(operation.operation_id, {}) if operation.method in {"PUT", "PATCH"} else None
    if body and "permissions" in body:
        chosen = grantable(flowise_permissions)
        if chosen is None:
            pytest.skip("the run's key holds no permission it could give a key")
        body = {**body, "permissions": chosen}
    response = flowise_client.request(operation.method, path, json=body)
    expect_status(flowise_client, response, 404, check="unknown_id_is_404", operation=operation.operation_id)
    expect_error_shape(flowise_client, response, check="unknown_id_is_404", operation=operation.operation_id)


def test_unknown_route_is_404(flowise_client) -> None:
    """An unknown route under /api/v1 (with a valid key) is 404, not the UI's HTML page."""
    response = flowise_client.get("/conformance-no-such-route")
    expect_status(flowise_client, response, 404, check="unknown_route_is_404", operation="(unknown route)")
