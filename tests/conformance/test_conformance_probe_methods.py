"""An answer to a probe of an undeclared method proves nothing about the operation's permission.

Against Flowise 3.0.13 a scoped key (no credentials or API-key permissions) got the UI's HTML page
for `TRACE /credentials/{id}` (unknown-route-html), and the suite took it as proof that the key held
`credentials:update`, so every later, correct 403 failed as `permission_is_honoured`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from conformance.permissions import KeyPermissions
from conformance.profile import default_spec_path
from conformance.schema.checks import PermissionTally, permission_check
from conformance.spec import load_spec


def case_of(operation_id: str) -> Any:
    schema = SimpleNamespace(get_operation_id=lambda operation: operation_id)
    return SimpleNamespace(operation=SimpleNamespace(schema=schema), body=None)


def response(method: str, status: int, body: bytes) -> Any:
    request = SimpleNamespace(method=method, url="http://flowise/api/v1/credentials/x", headers={}, body=None)
    return SimpleNamespace(request=request, status_code=status, content=body, headers={}, text=body.decode())


@pytest.mark.parametrize(("probe", "fails"), [("TRACE", False), ("PUT", True)])
def test_only_the_operations_own_method_proves_a_permission(probe: str, fails: bool) -> None:
    spec = load_spec(default_spec_path())
    permissions = KeyPermissions(spec, source="learned")
    check = permission_check(spec, permissions, PermissionTally())
    # TRACE gets the UI page; a real PUT gets the handler's JSON (a page would prove nothing either).
    answer = b"<!DOCTYPE html><html></html>" if probe == "TRACE" else b'{"id":"x","name":"n"}'
    check(None, response(probe, 200, answer), case_of("updateCredential"))
    refused = response("PUT", 403, b'{"message":"Forbidden"}')
    if fails:  # a real 2xx to PUT proved credentials:update; its 403 afterwards contradicts it
        with pytest.raises(Exception, match="403 Forbidden although"):
            check(None, refused, case_of("updateCredential"))
    else:
        check(None, refused, case_of("updateCredential"))
        assert not permissions.contradictions
