"""Feedback on an answer: public, tied to a message of the conversation, updatable.

The embed widget posts thumbs up/down without a key; Flowise checks that the message belongs to
the conversation named (400 otherwise, docs/resources.md#feedback), and `PUT` answers `{"status":"OK"}`.
"""

from __future__ import annotations

import pytest

from conformance.semantics.support import body_json, expect_error_shape, expect_status, new_chat_id, predict
from conformance.violations import expect

pytestmark = pytest.mark.flowise(area="feedback", tags=("feedback",), writes=True)


@pytest.fixture(scope="module")
def answered(flowise_client, flowise_chatflow, flowise_ledger):
    chat_id = new_chat_id(flowise_ledger, "feedback")
    _, data = predict(flowise_client, flowise_chatflow, {"question": "rate me", "chatId": chat_id})
    return chat_id, data["chatMessageId"]


def test_feedback_lifecycle(flowise_client, flowise_chatflow, flowise_ledger, answered) -> None:
    """Create (no key) → listed for the chatflow → update → the update shows."""
    chat_id, message_id = answered
    client = flowise_client
    body = {"chatflowid": flowise_chatflow, "chatId": chat_id, "messageId": message_id, "rating": "THUMBS_UP", "content": "conformance"}
    response = client.post(f"/feedback/{flowise_chatflow}", json=body, auth=None)
    expect_status(client, response, 200, check="feedback_is_public", operation="createChatMessageFeedbackForChatflow")
    created = body_json(client, response, check="feedback_is_public", operation="createChatMessageFeedbackForChatflow")
    expect(
        isinstance(created, dict) and created.get("messageId") == message_id and created.get("rating") == "THUMBS_UP",
        check="feedback_is_stored",
        operation="createChatMessageFeedbackForChatflow",
        message=f"answered {created!r}",
        exchange=client.exchange_of(response),
    )
    feedback_id = created["id"]
    flowise_ledger.claim(feedback_id)
    listing = client.get(f"/feedback/{flowise_chatflow}", auth=None)
    expect_status(client, listing, 200, check="feedback_is_listed", operation="getAllChatMessageFeedback")
    items = body_json(client, listing, check="feedback_is_listed", operation="getAllChatMessageFeedback")
    expect(
        any(item.get("id") == feedback_id for item in items if isinstance(item, dict)),
        check="feedback_is_listed",
        operation="getAllChatMessageFeedback",
        message="the new feedback is not listed",
        exchange=client.exchange_of(listing),
    )
    update = client.put(f"/feedback/{feedback_id}", json={"rating": "THUMBS_DOWN", "content": "changed"}, auth=None)
    expect_status(client, update, 200, check="feedback_update", operation="updateChatMessageFeedbackForChatflow")
    expect(
        body_json(client, update, check="feedback_update", operation="updateChatMessageFeedbackForChatflow") == {"status": "OK"},
        check="feedback_update",
        operation="updateChatMessageFeedbackForChatflow",
        message='PUT /feedback/{id} answers {"status": "OK"}',
        exchange=client.exchange_of(update),
    )
    listing = client.get(f"/feedback/{flowise_chatflow}", auth=None)
    items = body_json(client, listing, check="feedback_update_is_reflected", operation="getAllChatMessageFeedback")
    mine = next((item for item in items if isinstance(item, dict) and item.get("id") == feedback_id), {})
    expect(
        mine.get("rating") == "THUMBS_DOWN",
        check="feedback_update_is_reflected",
        operation="updateChatMessageFeedbackForChatflow",
        message=f"rating is {mine.get('rating')!r} after the update",
        exchange=client.exchange_of(listing),
    )


def test_feedback_wrong_chat_id_is_400(flowise_client, flowise_chatflow, answered) -> None:
    """A message id that does not belong to the chatId given is refused with 400."""
    _, message_id = answered
    body = {"chatflowid": flowise_chatflow, "chatId": "conformance-not-this-chat", "messageId": message_id, "rating": "THUMBS_UP"}
    response = flowise_client.post(f"/feedback/{flowise_chatflow}", json=body, auth=None)
    expect_status(flowise_client, response, 400, check="feedback_wrong_chat_id_is_400", operation="createChatMessageFeedbackForChatflow")
    expect_error_shape(flowise_client, response, check="feedback_wrong_chat_id_is_400", operation="createChatMessageFeedbackForChatflow")
