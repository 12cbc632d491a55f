"""Leads: the contact details the chat widget's lead form collects before a conversation.

``POST /leads`` is public. Flowise copies the body onto a ``Lead`` entity, generates ``chatId`` when it is
absent and saves; only ``chatflowid``, ``chatId``, ``name``, ``email`` and ``phone`` are columns, so only
they are kept (docs/resources.md#leads). Flowise lets a missing ``chatflowid`` reach the database (500
``NOT NULL constraint failed``); the contract answers 400 naming the field, which the spec's required
``chatflowid`` already gives before this handler runs. ``GET /leads/{id}`` lists a chatflow's leads, oldest
first; under ``--quirks flowise-3.1`` it answers the real server's 404 ``workspace undefined``
(``leads-get-workspace-404``: the route is on the public list, so an API key is never read).
"""

from __future__ import annotations

from typing import Any

from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.store import leads
from mockserver.store.db import new_id, now_iso

__all__: list[str] = []


@operation("createLead")
async def create_lead(call: Call) -> dict[str, Any]:
    body = call.body or {}
    if not body.get("chatflowid"):
        raise FlowiseError(400, "Invalid request body: chatflowid is required")
    row = {"name": body.get("name"), "email": body.get("email"), "phone": body.get("phone"),
           "chatflowid": body["chatflowid"], "chatId": body["chatId"] if body.get("chatId") is not None else new_id(),
           "id": new_id(), "createdDate": now_iso()}
    return leads.add_lead(call.db, row)


@operation("getAllLeadsForChatflow")
async def get_all_leads_for_chatflow(call: Call) -> list[dict[str, Any]]:
    if active(call, "leads-get-workspace-404"):
        raise FlowiseError(404, "Error: leadsController.getAllLeadsForChatflow - workspace undefined not found!")
    # The key this read needs (despite the public /leads prefix) is checked by the pipeline from the spec.
    return leads.leads_of(call.db, call.path["id"])
