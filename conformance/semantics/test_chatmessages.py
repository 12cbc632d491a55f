"""Chat messages are recorded after a prediction and can be filtered (chatId, sessionId, order, dates).

Every UI and analytics integration reads history through `GET /chatmessage/{chatflowId}`; a
prediction must leave a user message and an api message behind, tied to the conversation id, and
the filters must narrow exactly. Only this run's conversations are read and deleted.
"""

from __future__ import annotations

import datetime as dt

import pytest

from conformance.semantics.support import body_json, expect_status, new_chat_id, predict
from conformance.violations import expect

pytestmark = pytest.mark.flowise(area="chatmessage", tags=("chatmessage",), operation="getAllChatMessages", writes=True)


@pytest.fixture(scope="module")
def conversation(flowise_client, flowise_chatflow, flowise_ledger):
    """Two predictions in one new conversation: (chat id, [answers])."""
    chat_id = new_chat_id(flowise_ledger, "history")
    answers = [
        predict(flowise_client, flowise_chatflow, {"question": question, "chatId": chat_id})[1]
        for question in ("first question", "second question")
    ]
    return chat_id, answers


def _messages(client, chatflow, params, check):
    response = client.get(f"/chatmessage/{chatflow}", params=params)
    expect_status(client, response, 200, check=check, operation="getAllChatMessages")
    data = body_json(client, response, check=check, operation="getAllChatMessages")
    expect(isinstance(data, list), check=check, message="the answer is not a list", exchange=client.exchange_of(response))
    return response, data


def test_prediction_is_recorded(flowise_client, flowise_chatflow, conversation, flowise_spec) -> None:
    """A prediction leaves a userMessage and an apiMessage under its chatId."""
    chat_id, answers = conversation
    response, messages = _messages(flowise_client, flowise_chatflow, {"chatId": chat_id}, "prediction_is_recorded")
    exchange = flowise_client.exchange_of(response)
    roles = [message.get("role") for message in messages]
    expect(
        roles.count("userMessage") == 2 and roles.count("apiMessage") == 2,
        check="prediction_is_recorded",
        message=f"two predictions, messages with roles {roles}",
        exchange=exchange,
    )
    expect(
        all(message.get("chatId") == chat_id for message in messages),
        check="chat_id_filter_is_exact",
        message="a message from another conversation was returned",
        exchange=exchange,
    )
    ids = {message.get("id") for message in messages}
    expect(
        all(answer.get("chatMessageId") in ids for answer in answers),
        check="answer_message_id_is_recorded",
        message="the chatMessageId of an answer is not among the recorded messages",
        exchange=exchange,
    )
    validate = flowise_spec.validator("#/components/schemas/ChatMessage")
    expect(
        [problem for message in messages for problem in validate(message)][:5],
        check="chat_messages_match_schema",
        exchange=exchange,
    )


def test_order_filter(flowise_client, flowise_chatflow, conversation) -> None:
    """`order=ASC` gives oldest first, `order=DESC` newest first."""
    chat_id, _ = conversation
    _, ascending = _messages(flowise_client, flowise_chatflow, {"chatId": chat_id, "order": "ASC"}, "order_filter")
    response, descending = _messages(flowise_client, flowise_chatflow, {"chatId": chat_id, "order": "DESC"}, "order_filter")
    expect(
        [m.get("id") for m in ascending] == [m.get("id") for m in reversed(descending)] and len(ascending) >= 2,
        check="order_filter",
        message="DESC is not ASC reversed",
        exchange=flowise_client.exchange_of(response),
    )
    expect(
        ascending[0].get("content") == "first question",
        check="order_filter",
        message=f"the oldest message is {ascending[0].get('content')!r}",
        exchange=flowise_client.exchange_of(response),
    )


def test_session_filter(flowise_client, flowise_chatflow, conversation) -> None:
    """`sessionId` filters like the conversation id it equals."""
    chat_id, _ = conversation
    response, messages = _messages(flowise_client, flowise_chatflow, {"sessionId": chat_id}, "session_filter")
    expect(
        len(messages) == 4 and all(message.get("sessionId") == chat_id for message in messages),
        check="session_filter",
        message=f"{len(messages)} messages for the session",
        exchange=flowise_client.exchange_of(response),
    )


def test_date_filters(flowise_client, flowise_chatflow, conversation) -> None:
    """A date window around now keeps the messages; one in the past excludes them."""
    chat_id, _ = conversation
    now = dt.datetime.now(dt.UTC)
    window = {
        "chatId": chat_id,
        "startDate": (now - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z"),
        "endDate": (now + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z"),
    }
    response, inside = _messages(flowise_client, flowise_chatflow, window, "date_filters")
    expect(len(inside) == 4, check="date_filters", message=f"{len(inside)} messages inside the window", exchange=flowise_client.exchange_of(response))
    past = {**window, "endDate": (now - dt.timedelta(days=2)).isoformat().replace("+00:00", "Z")}
    past["startDate"] = (now - dt.timedelta(days=3)).isoformat().replace("+00:00", "Z")
    response, outside = _messages(flowise_client, flowise_chatflow, past, "date_filters")
    expect(not outside, check="date_filters", message=f"{len(outside)} messages in a past window", exchange=flowise_client.exchange_of(response))


def test_delete_conversation(flowise_client, flowise_chatflow, flowise_ledger) -> None:
    """Deleting with `chatId` removes that conversation's messages (and only those)."""
    chat_id = new_chat_id(flowise_ledger, "delete")
    keep = new_chat_id(flowise_ledger, "keep")
    predict(flowise_client, flowise_chatflow, {"question": "to be deleted", "chatId": chat_id})
    predict(flowise_client, flowise_chatflow, {"question": "to be kept", "chatId": keep})
    response = flowise_client.delete(f"/chatmessage/{flowise_chatflow}", params={"chatId": chat_id})
    expect_status(flowise_client, response, 200, check="delete_conversation", operation="removeAllChatMessages")
    response, gone = _messages(flowise_client, flowise_chatflow, {"chatId": chat_id}, "delete_conversation")
    expect(not gone, check="delete_conversation", operation="removeAllChatMessages", message=f"{len(gone)} messages left", exchange=flowise_client.exchange_of(response))
    response, kept = _messages(flowise_client, flowise_chatflow, {"chatId": keep}, "delete_conversation")
    expect(len(kept) == 2, check="delete_keeps_other_conversations", operation="removeAllChatMessages", message=f"{len(kept)} messages left in another conversation", exchange=flowise_client.exchange_of(response))
