"""Assistants: CRUD over the ``assistant`` table; ``details`` is a JSON **string**, as Flowise stores it.

Flowise parses ``details`` on create and update (a missing one is its 500 ``Invalid request body``; the
contract says 400 naming the field). ``OPENAI``/``AZURE`` assistants are also created at the provider
with the given credential; the mock has no provider, so every type is stored like a ``CUSTOM`` one and
``isDeleteBoth`` has nothing more to delete (under quirks, a non-``CUSTOM`` create fails as Flowise's does
when it cannot reach the provider: ``assistant-provider-500``).
"""

from __future__ import annotations

import json
from typing import Any

from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.resources._shape import delete_answer, insert_entity, listing, load_entity, update_entity
from mockserver.store import records

WRITABLE = ("details", "credential", "iconSrc", "type")
NOT_FOUND = "Assistant {id} not found"


def _fields(body: dict[str, Any], call: Call | None = None, *, where: str = "") -> dict[str, Any]:
    """The writable fields; ``details`` must be a JSON string. Under quirks as Flowise: a CUSTOM create
    stores it unparsed (``no-input-validation``), an update parses it and needs a name (``client-error-500``,
    3.1) or, on 3.0 and 2.2, stores it as sent too."""
    fields = {key: body[key] for key in WRITABLE if key in body}
    if call is not None and "details" in fields and where.endswith("createAssistant") \
            and active(call, "no-input-validation"):
        return fields
    if call is not None and "details" in fields and where.endswith("updateAssistant") \
            and active(call, "client-error-500"):  # 3.1 checks details
        try:
            parsed = json.loads(fields["details"]) if isinstance(fields["details"], str) else fields["details"]
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not parsed.get("name"):
            raise FlowiseError(500, f"Error: {where} - Details must include a name field")
    elif call is not None and "details" in fields and where.endswith("updateAssistant") \
            and active(call, "no-input-validation"):  # 3.0 and 2.2 save it as sent
        return fields
    if "details" in fields:
        try:
            json.loads(fields["details"])
        except (TypeError, ValueError) as exc:
            raise FlowiseError(400, f"Invalid request body /details: not a JSON string ({exc})") from exc
    return fields


@operation("listAssistants")
async def list_assistants(call: Call) -> list[dict[str, Any]] | dict[str, Any]:
    assistant_type = call.query.get("type")
    equal = {"type": assistant_type} if assistant_type else None
    return listing(call, "assistant", dict, equal=equal, order="created-asc")


@operation("createAssistant")
async def create_assistant(call: Call) -> dict[str, Any]:
    body = call.body or {}
    if not body.get("details"):
        raise FlowiseError(400, "Invalid request body /details: 'details' is a required property")
    if body.get("type") != "CUSTOM" and active(call, "assistant-provider-500"):  # no provider to reach
        raise FlowiseError(500, "Error: assistantsService.createAssistant - Error creating new assistant - "
                                "Connection error.")
    saved = insert_entity(call, "assistant", _fields(body, call, where="assistantsService.createAssistant"), body)
    call.state.metrics.count("assistant_created")
    return saved


@operation("getAssistantById")
async def get_assistant_by_id(call: Call) -> dict[str, Any]:
    return load_entity(call, "assistant", NOT_FOUND, where="assistantsService.getAssistantById")


@operation("updateAssistant")
async def update_assistant(call: Call) -> dict[str, Any]:
    row = load_entity(call, "assistant", NOT_FOUND, where="assistantsService.updateAssistant")
    return update_entity(call, "assistant", row, _fields(call.body or {}, call, where="assistantsService.updateAssistant"))


@operation("deleteAssistant")
async def delete_assistant(call: Call) -> dict[str, Any]:
    assistant_id = call.path["id"]
    affected = records.delete(call.db, "assistant", assistant_id, workspace_id=call.workspace_id)
    return delete_answer(call, affected, NOT_FOUND.format(id=assistant_id),
                         where="assistantsService.deleteAssistant")
