"""Each CRUD family's lifecycle: create → get → list contains it → update → get reflects → delete → gone.

A schema check sees one response at a time; a lifecycle sees state: that what was created can be
read back, that an update sticks, that a delete really removes (Flowise#3221 shows deletes that
answer 200 and remove nothing). Families without a read-by-id route (variables, API keys) are
read back through their list. Credentials also prove the secret never comes back in any answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from conformance.families import FAMILIES, Family
from conformance.fixtures import direct_reply_flow_data
from conformance.semantics.support import body_json, create, expect_status, grantable
from conformance.violations import Violation, expect

pytestmark = pytest.mark.flowise(area="crud", writes=True)

SECRET = "sk-conformance-secret-0f3c9a"


@dataclass(frozen=True)
class Lifecycle:
    """How to exercise one family: bodies to create and update, and the field the update changes."""

    kind: str
    tags: tuple[str, ...]
    create: Callable[[str], dict[str, Any]]
    update: Callable[[str], dict[str, Any]]
    #: Reads the updated value back from an item (the update set it to the name given to `update`).
    reflects: Callable[[dict[str, Any], str], bool]

    @property
    def label(self) -> str:
        """The row this lifecycle gets in the report's matrix."""
        return f"{self.kind} lifecycle"


def _assistant_details(name: str) -> str:
    return json.dumps({"name": name, "description": "conformance assistant", "instruction": "Be brief."})


LIFECYCLES = [
    Lifecycle(
        "chatflow",
        ("chatflows",),
        lambda name: {"name": name, "flowData": direct_reply_flow_data(), "type": "AGENTFLOW"},
        lambda name: {"name": name, "deployed": True},
        lambda item, name: item.get("name") == name and isinstance(item.get("flowData"), str),
    ),
    Lifecycle(
        "assistant",
        ("assistants",),
        lambda name: {"details": _assistant_details(name), "credential": "00000000-0000-4000-8000-000000000000", "type": "CUSTOM"},
        lambda name: {"details": _assistant_details(name)},
        lambda item, name: FAMILIES["assistant"].name_of(item) == name,
    ),
    Lifecycle(
        "tool",
        ("tools",),
        lambda name: {
            "name": name,
            "description": "conformance tool",
            "color": "linear-gradient(rgb(1,2,3), rgb(4,5,6))",
            "schema": "[]",
            "func": "return 'ok';",
        },
        lambda name: {"name": name, "description": "updated by conformance"},
        lambda item, name: item.get("name") == name and item.get("description") == "updated by conformance",
    ),
    Lifecycle(
        "variable",
        ("variables",),
        lambda name: {"name": name, "value": "v1", "type": "static"},
        lambda name: {"name": name, "value": "v2"},
        lambda item, name: item.get("name") == name and item.get("value") == "v2",
    ),
    Lifecycle(
        "document_store",
        ("document-store",),
        lambda name: {"name": name, "description": "conformance store"},
        lambda name: {"name": name, "description": "updated by conformance"},
        lambda item, name: item.get("name") == name and item.get("description") == "updated by conformance",
    ),
    Lifecycle(
        "credential",
        ("credentials",),
        lambda name: {"name": name, "credentialName": "openAIApi", "plainDataObj": {"openAIApiKey": SECRET}},
        lambda name: {"name": name},
        lambda item, name: item.get("name") == name,
    ),
    Lifecycle(
        "apikey",
        ("apikey",),
        lambda name: {"keyName": name, "permissions": ["chatflows:view"]},
        lambda name: {"keyName": name, "permissions": ["chatflows:view"]},
        lambda item, name: item.get("keyName") == name,
    ),
]


def _items(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _op(spec: Any, method: str, path: str) -> str:
    operation = spec.find(method, path)
    return operation.operation_id if operation is not None else f"{method} {path}"


def _no_secret(client: Any, response: Any, *, operation: str) -> None:
    """The credential's plain value must never be in an answer (docs/resources.md#credentials)."""
    expect(
        SECRET not in response.text,
        check="credential_secret_never_returned",
        operation=operation,
        message="the plain secret came back in the response",
        exchange=client.exchange_of(response),
    )


def _read(client: Any, spec: Any, family: Family, identifier: str, check: str) -> tuple[Any, dict[str, Any] | None]:
    """Read an item back by id when the family has that route, else find it in the list."""
    get_op = spec.find("GET", family.item)
    if get_op is not None:
        response = client.get(family.item_path(identifier))
        if response.status_code == 404:
            return response, None
        expect_status(client, response, 200, check=check, operation=get_op.operation_id)
        return response, body_json(client, response, check=check, operation=get_op.operation_id)
    list_op = _op(spec, "GET", family.collection)
    response = client.get(family.collection)
    expect_status(client, response, 200, check=check, operation=list_op)
    items = _items(body_json(client, response, check=check, operation=list_op))
    return response, next((item for item in items if item.get("id") == identifier), None)


def _with_grantable(body: dict[str, Any], permissions: Any) -> dict[str, Any]:
    """An API key's body asks only for permissions the run's key holds (it could not grant others)."""
    if "permissions" not in body:
        return body
    chosen = grantable(permissions)
    if chosen is None:
        pytest.skip("the run's key holds no permission it could give a new key")
    return {**body, "permissions": chosen}


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=[lifecycle.kind for lifecycle in LIFECYCLES])
def test_lifecycle(
    lifecycle: Lifecycle, flowise_client, flowise_ledger, flowise_spec, flowise_unique, flowise_permissions
) -> None:
    """create → get → list contains → update → get reflects → delete → gone."""
    client, ledger, spec = flowise_client, flowise_ledger, flowise_spec
    family = FAMILIES[lifecycle.kind]
    create_op = _op(spec, "POST", family.collection)
    name = flowise_unique(lifecycle.kind)
    body = _with_grantable(lifecycle.create(name), flowise_permissions)
    created = create(client, ledger, lifecycle.kind, body, operation=create_op)
    identifier = str(created["id"])
    if lifecycle.kind == "credential":
        _no_secret(client, client.get(family.collection), operation=_op(spec, "GET", family.collection))

    response, item = _read(client, spec, family, identifier, "created_resource_is_readable")
    if item is None:
        raise Violation(
            f"{lifecycle.kind} {identifier} was created but cannot be read back",
            check="created_resource_is_readable",
            operation=create_op,
            exchange=client.exchange_of(response),
        )
    if lifecycle.kind == "credential":
        _no_secret(client, response, operation=_op(spec, "GET", family.item))

    list_op = _op(spec, "GET", family.collection)
    listing = client.get(family.collection)
    expect_status(client, listing, 200, check="list_contains_created", operation=list_op)
    ids = [entry.get("id") for entry in _items(body_json(client, listing, check="list_contains_created", operation=list_op))]
    expect(
        identifier in ids,
        check="list_contains_created",
        operation=list_op,
        message=f"{lifecycle.kind} {identifier} missing from the list",
        exchange=client.exchange_of(listing),
    )

    update_op = _op(spec, "PUT", family.item)
    new_name = flowise_unique(f"{lifecycle.kind}-updated")
    updated = client.put(family.item_path(identifier), json=_with_grantable(lifecycle.update(new_name), flowise_permissions))
    expect_status(client, updated, 200, check="update_is_accepted", operation=update_op)
    if lifecycle.kind == "credential":
        _no_secret(client, updated, operation=update_op)
    response, item = _read(client, spec, family, identifier, "update_is_reflected")
    if item is None or not lifecycle.reflects(item, new_name):
        raise Violation(
            f"after the update, {lifecycle.kind} {identifier} does not show it: {json.dumps(item)[:300]}",
            check="update_is_reflected",
            operation=update_op,
            exchange=client.exchange_of(response),
        )

    delete_op = _op(spec, "DELETE", family.item)
    deleted = client.delete(family.item_path(identifier))
    expect_status(client, deleted, 200, check="delete_is_accepted", operation=delete_op)
    ledger.forget(lifecycle.kind, identifier)
    response, item = _read(client, spec, family, identifier, "deleted_resource_is_gone")
    if item is not None:
        # Still there: keep it in the ledger so the end-of-run cleanup tries again.
        ledger.record(lifecycle.kind, identifier, family.item_path(identifier))
        raise Violation(
            f"{lifecycle.kind} {identifier} is still there after DELETE answered {deleted.status_code}",
            check="deleted_resource_is_gone",
            operation=delete_op,
            exchange=client.exchange_of(response),
        )
