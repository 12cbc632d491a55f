"""Leads: the embed widget's lead form posts without a key; the chatflow's leads can be read back."""

from __future__ import annotations

import pytest

from conformance.semantics.support import body_json, expect_status, new_chat_id
from conformance.violations import expect

pytestmark = pytest.mark.flowise(area="leads", tags=("leads",), writes=True)


def test_lead_is_stored_and_listed(flowise_client, flowise_chatflow, flowise_ledger, flowise_caps) -> None:
    """POST /leads (public) stores the lead; GET /leads/{chatflowid} lists it."""
    if not flowise_caps.answering_chatflow_is_ours:
        pytest.skip("leads are only written to a chatflow this run created")
    client = flowise_client
    chat_id = new_chat_id(flowise_ledger, "lead")
    body = {"chatflowid": flowise_chatflow, "chatId": chat_id, "name": "Ada Conformance", "email": "ada@example.com", "phone": "+10000000000"}
    response = client.post("/leads", json=body, auth=None)
    expect_status(client, response, 200, check="lead_is_public", operation="createLead")
    lead = body_json(client, response, check="lead_is_public", operation="createLead")
    expect(
        isinstance(lead, dict) and lead.get("email") == "ada@example.com" and lead.get("chatId") == chat_id,
        check="lead_is_stored",
        operation="createLead",
        message=f"answered {lead!r}",
        exchange=client.exchange_of(response),
    )
    flowise_ledger.claim(lead.get("id"))
    listing = client.get(f"/leads/{flowise_chatflow}")
    expect_status(client, listing, 200, check="lead_is_listed", operation="getAllLeadsForChatflow")
    leads = body_json(client, listing, check="lead_is_listed", operation="getAllLeadsForChatflow")
    expect(
        any(isinstance(item, dict) and item.get("id") == lead.get("id") for item in leads or []),
        check="lead_is_listed",
        operation="getAllLeadsForChatflow",
        message="the new lead is not listed",
        exchange=client.exchange_of(listing),
    )
