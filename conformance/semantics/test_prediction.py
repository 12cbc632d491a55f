"""Prediction's JSON contract and its conversation-id rules.

Clients (the SDKs, the embed widget) read the answer's keys and rely on their order only loosely,
but code that replays answers byte for byte (caches, snapshot tests) does not; the spec and
docs/prediction.md#json-answer fix the order `text, question, chatId, chatMessageId, isStreamValid, sessionId,
memoryType` (agentflows put `executionId, agentFlowExecutedData` before `sessionId`). The
conversation id is `body.chatId ?? overrideConfig.sessionId ?? <new uuid>`, and a top-level
`sessionId` is ignored (docs/prediction.md#conversation-ids): getting this wrong silently mixes users' memory.
"""

from __future__ import annotations

import uuid

import pytest

from conformance.semantics.support import (
    expect_error_shape,
    expect_status,
    new_chat_id,
    predict,
    random_id,
)
from conformance.violations import expect

pytestmark = [
    pytest.mark.flowise(area="prediction", tags=("prediction",), operation="createPrediction", writes=True),
]

#: The order of the keys Flowise writes, for chatflows and agentflows merged.
KEY_ORDER = (
    "text",
    "json",
    "question",
    "form",
    "chatId",
    "chatMessageId",
    "followUpPrompts",
    "executionId",
    "agentFlowExecutedData",
    "isStreamValid",
    "action",
    "sessionId",
    "memoryType",
)
REQUIRED_KEYS = ("text", "question", "chatId", "chatMessageId", "sessionId")


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def test_answer_keys_and_order(flowise_client, flowise_chatflow, flowise_spec) -> None:
    """The JSON answer has text, question, chatId, chatMessageId, sessionId, in Flowise's order."""
    client = flowise_client
    response, data = predict(client, flowise_chatflow, {"question": "What is the order of keys?"})
    exchange = client.exchange_of(response)
    missing = [key for key in REQUIRED_KEYS if key not in data]
    expect(not missing, check="answer_has_required_keys", message=f"missing {missing}", exchange=exchange)
    known = [key for key in data if key in KEY_ORDER]
    expected = sorted(known, key=KEY_ORDER.index)
    expect(
        known == expected,
        check="answer_keys_in_flowise_order",
        message=f"keys come as {known}, Flowise writes {expected}",
        exchange=exchange,
    )
    validate = flowise_spec.validator("#/components/schemas/PredictionResponse")
    expect(validate(data), check="answer_matches_schema", message="PredictionResponse", exchange=exchange)
    expect(
        data.get("question") == "What is the order of keys?",
        check="answer_echoes_question",
        message=f"question is {data.get('question')!r}",
        exchange=exchange,
    )


def test_provisioned_agentflow_answers_deterministically(flowise_client, flowise_caps) -> None:
    """The run's Start → Direct Reply agentflow answers exactly `Echo: <question>`, as on Flowise."""
    if not flowise_caps.answering_chatflow_is_ours:
        pytest.skip("the answering chatflow is the operator's, its answer is not known in advance")
    response, data = predict(flowise_client, flowise_caps.answering_chatflow, {"question": "hello conformance"})
    expect(
        data.get("text") == "Echo: hello conformance",
        check="direct_reply_is_exact",
        message=f"text is {data.get('text')!r}",
        exchange=flowise_client.exchange_of(response),
    )
    expect(
        isinstance(data.get("agentFlowExecutedData"), list) and isinstance(data.get("executionId"), str),
        check="agentflow_answer_has_execution",
        message="an AGENTFLOW answer carries executionId and agentFlowExecutedData",
        exchange=flowise_client.exchange_of(response),
    )


def test_chat_id_from_body(flowise_client, flowise_chatflow, flowise_ledger) -> None:
    """`chatId` in the body is the conversation: answered back as chatId and sessionId."""
    chat_id = new_chat_id(flowise_ledger)
    response, data = predict(flowise_client, flowise_chatflow, {"question": "hi", "chatId": chat_id})
    expect(
        data.get("chatId") == chat_id and data.get("sessionId") == chat_id,
        check="chat_id_from_body",
        message=f"sent chatId {chat_id}, got chatId {data.get('chatId')!r} sessionId {data.get('sessionId')!r}",
        exchange=flowise_client.exchange_of(response),
    )


def test_chat_id_from_override_session(flowise_client, flowise_chatflow, flowise_ledger) -> None:
    """Without chatId, `overrideConfig.sessionId` is the conversation."""
    session = new_chat_id(flowise_ledger, "session")
    response, data = predict(
        flowise_client, flowise_chatflow, {"question": "hi", "overrideConfig": {"sessionId": session}}
    )
    expect(
        data.get("chatId") == session and data.get("sessionId") == session,
        check="chat_id_from_override_session",
        message=f"sent overrideConfig.sessionId {session}, got chatId {data.get('chatId')!r}",
        exchange=flowise_client.exchange_of(response),
    )


def test_body_chat_id_wins_over_override_session(flowise_client, flowise_chatflow, flowise_ledger) -> None:
    """`chatId` takes precedence over `overrideConfig.sessionId` for the chat id."""
    chat_id, session = new_chat_id(flowise_ledger), new_chat_id(flowise_ledger, "session")
    response, data = predict(
        flowise_client,
        flowise_chatflow,
        {"question": "hi", "chatId": chat_id, "overrideConfig": {"sessionId": session}},
    )
    expect(
        data.get("chatId") == chat_id,
        check="chat_id_precedence",
        message=f"chatId {chat_id} and sessionId {session} sent, chatId {data.get('chatId')!r} answered",
        exchange=flowise_client.exchange_of(response),
    )


def test_new_chat_id_when_none_given(flowise_client, flowise_chatflow, flowise_ledger) -> None:
    """With neither, a new UUID is made and used as both chatId and sessionId."""
    response, data = predict(flowise_client, flowise_chatflow, {"question": "hi"})
    flowise_ledger.claim(data.get("chatId"))
    expect(
        _is_uuid(data.get("chatId")) and data.get("sessionId") == data.get("chatId"),
        check="new_chat_id_is_uuid",
        message=f"chatId {data.get('chatId')!r}, sessionId {data.get('sessionId')!r}",
        exchange=flowise_client.exchange_of(response),
    )
    _, again = predict(flowise_client, flowise_chatflow, {"question": "hi"})
    flowise_ledger.claim(again.get("chatId"))
    expect(
        again.get("chatId") != data.get("chatId"),
        check="new_chat_id_is_fresh",
        message="two predictions without a chat id share one",
        exchange=flowise_client.last,
    )


def test_top_level_session_id_is_ignored(flowise_client, flowise_chatflow, flowise_ledger) -> None:
    """A top-level `sessionId` does not select the conversation (only overrideConfig.sessionId does)."""
    session = new_chat_id(flowise_ledger, "ignored")
    response, data = predict(flowise_client, flowise_chatflow, {"question": "hi", "sessionId": session})
    flowise_ledger.claim(data.get("chatId"))
    expect(
        data.get("chatId") != session and data.get("sessionId") != session,
        check="top_level_session_id_ignored",
        message=f"top-level sessionId {session} was used",
        exchange=flowise_client.exchange_of(response),
    )


def test_missing_question_is_rejected(flowise_client, flowise_chatflow) -> None:
    """A prediction without question, uploads, form, humanInput or action is refused with 400."""
    response = flowise_client.post(f"/prediction/{flowise_chatflow}", json={"chatId": str(uuid.uuid4())})
    expect_status(flowise_client, response, 400, check="missing_question_is_rejected", operation="createPrediction")
    expect_error_shape(flowise_client, response, check="missing_question_is_rejected", operation="createPrediction")


def test_unknown_chatflow_is_404(flowise_client) -> None:
    """An unknown chatflow id answers 404 with the Flowise error body."""
    response = flowise_client.post(f"/prediction/{random_id()}", json={"question": "hi"})
    expect_status(flowise_client, response, 404, check="unknown_chatflow_is_404", operation="createPrediction")
    expect_error_shape(flowise_client, response, check="unknown_chatflow_is_404", operation="createPrediction")


def test_invalid_chatflow_id_is_400(flowise_client) -> None:
    """A chatflow id that is not a UUID answers 400 with the Flowise error body."""
    response = flowise_client.post("/prediction/not-a-uuid", json={"question": "hi"})
    expect_status(flowise_client, response, 400, check="invalid_chatflow_id_is_400", operation="createPrediction")
    expect_error_shape(flowise_client, response, check="invalid_chatflow_id_is_400", operation="createPrediction")
