"""What the suite knows of its key: reach per operation, learning from answers, contradictions."""

from __future__ import annotations

import json

import pytest

from conformance.permissions import KeyPermissions, OutOfReach, Reach, own_permissions
from conformance.profile import default_spec_path
from conformance.spec import load_spec

SPEC = load_spec(default_spec_path())
FORBIDDEN = json.dumps({"message": "Forbidden"}).encode()
EXCEEDS = json.dumps({"statusCode": 400, "success": False,
                      "message": "Cannot create API key with permissions that exceed your own permissions",
                      "stack": {}}).encode()


def op(operation_id: str):
    return SPEC[operation_id]


def test_read_permissions_decide_every_operation() -> None:
    keys = KeyPermissions(SPEC, held={"tools:view", "chatflows:view"}, source="read")
    assert keys.reach("getAllTools") is Reach.HELD
    assert keys.reach("getChatflowById") is Reach.HELD  # any one of its list suffices
    assert keys.reach("createTool") is Reach.LACKING
    assert keys.reach("pingServer") is Reach.FREE and keys.reach("createPrediction") is Reach.FREE
    with pytest.raises(OutOfReach, match="createCredential needs credentials:create"):
        keys.check(op("createCredential"))
    assert keys.grantable(avoiding=["chatflows:view"]) == ["tools:view"]


def test_a_refusal_of_a_held_permission_is_a_contradiction() -> None:
    keys = KeyPermissions(SPEC, held={"tools:view"}, source="read")
    refused, found = keys.observe(op("getToolById"), 403, FORBIDDEN)
    assert refused and found is not None and found.check == "permission_is_honoured"
    assert found.operation == "getToolById" and "tools:view" in found.message
    refused, found = keys.observe(op("createTool"), 403, FORBIDDEN)
    assert refused and found is None  # the key lacks tools:create: out of reach, not a defect
    refused, found = keys.observe(op("createTool"), 200, b"{}")
    assert not refused and found is not None and found.check == "permission_is_enforced"
    assert [c.operation for c in keys.unreported()] == ["getToolById", "createTool"] and keys.unreported() == []


def test_unknown_permissions_are_learned_from_answers() -> None:
    keys = KeyPermissions(SPEC, source="not read")
    assert keys.reach("getAllTools") is Reach.UNKNOWN
    keys.observe(op("getAllTools"), 200, b"[]")
    keys.observe(op("getAllCredentials"), 403, FORBIDDEN)
    assert keys.reach("getToolById") is Reach.HELD and keys.holds("tools:view") is True
    assert keys.reach("getAllCredentials") is Reach.LACKING and keys.holds("credentials:view") is False
    assert keys.reach("createTool") is Reach.UNKNOWN
    keys.observe(op("listChatflows"), 200, b"[]")  # one of four permissions: none is known singly
    assert keys.reach("getChatflowById") is Reach.HELD and keys.reach("createChatflow") is Reach.UNKNOWN
    assert keys.holds("chatflows:view") is None
    assert keys.observe(op("deleteChatflow"), 404, b"{}") == (False, None)  # the handler answered: past the check
    assert keys.reach("deleteChatflow") is Reach.HELD
    assert keys.contradictions == []
    notes = keys.notes()
    assert "holds tools:view" in notes["key permissions"] and "lacks credentials:view" in notes["key permissions"]
    assert "getAllCredentials needs credentials:view" in notes["out of this key's reach"]


@pytest.mark.parametrize("order", ["refusal-first", "success-first"])
def test_a_refusal_contradicted_by_a_success_fails_in_either_order(order: str) -> None:
    """GET /tools answered, so the key holds tools:view: a 403 on GET /tools/{id} (which needs just
    that) is a defect, whichever came first."""
    keys = KeyPermissions(SPEC, source="not read")
    answers = [(op("getToolById"), 403, FORBIDDEN), (op("getAllTools"), 200, b"[]")]
    for operation, status, body in answers if order == "refusal-first" else answers[::-1]:
        keys.observe(operation, status, body)
    found = keys.unreported()
    assert [(c.check, c.operation) for c in found] == [("permission_is_honoured", "getToolById")], found
    assert "getAllTools answered it" in found[0].message


def test_permissions_a_key_may_not_grant_are_learned() -> None:
    keys = KeyPermissions(SPEC, source="not read")
    refused, found = keys.observe(op("createApiKey"), 400, EXCEEDS, requested=["credentials:view"])
    assert refused and found is None and keys.holds("credentials:view") is False
    keys.observe(op("getAllTools"), 200, b"[]")
    refused, found = keys.observe(op("createApiKey"), 400, EXCEEDS, requested=["tools:view"])
    assert refused and found is not None and "proven to hold tools:view" in found.message
    exact = KeyPermissions(SPEC, held={"apikeys:create", "tools:view"}, source="read")
    assert exact.observe(op("createApiKey"), 400, EXCEEDS, requested=["tools:view"])[1] is not None
    assert exact.observe(op("createApiKey"), 400, EXCEEDS, requested=["tools:delete"])[1] is None


def test_own_permissions_are_read_from_the_key_list() -> None:
    key = "pX3vR9kT2mQ8wL5nB7yC4dF6gH1jK0sA9eU2iO3pZ5x"
    entries = [{"apiKey": "abcd...wxyz", "permissions": ["tools:view"]},
               {"apiKey": key, "permissions": ["chatflows:view", "tools:view"]}]
    assert own_permissions(entries, key) == {"chatflows:view", "tools:view"}
    preview = [{"apiKey": "pX3v...pZ5x", "permissions": '["variables:view"]'}]  # flowise-mock lists previews
    assert own_permissions({"data": preview, "total": 1}, key) == {"variables:view"}
    assert own_permissions(preview * 2, key) is None  # ambiguous: not read
    assert own_permissions([{"apiKey": "other", "permissions": []}], key) is None


def test_requests_are_matched_to_operations() -> None:
    keys = KeyPermissions(SPEC)
    assert keys.operation_for("GET", "/chatflows/apikey/abc").operation_id == "getChatflowByApiKey"
    assert keys.operation_for("GET", "/api/v1/chatflows/6f1c2d3e-0000-4000-8000-000000000000").operation_id == (
        "getChatflowById")
    assert keys.operation_for("DELETE", "/credentials/x?y=1").operation_id == "deleteCredentials"
    assert keys.operation_for("GET", "/no-such-route") is None


def test_a_ui_page_proves_no_permission() -> None:
    """A real Flowise answers a route it does not have with its UI page (200 HTML): that answer says
    nothing about the key, so a 403 on the operation afterwards is still just out of reach."""
    keys = KeyPermissions(SPEC, source="not read")
    assert keys.observe(op("updateCredential"), 200, b"<!DOCTYPE html><html></html>") == (False, None)
    assert keys.reach("updateCredential") is Reach.UNKNOWN
    refused, found = keys.observe(op("getCredentialById"), 403, FORBIDDEN)
    assert refused and found is None and keys.unreported() == []
