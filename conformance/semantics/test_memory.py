"""Memory: the same conversation id remembers, a new one does not.

With a memory node, Flowise replays the conversation's earlier messages to the model; the
conversation is `chatId` (or `overrideConfig.sessionId`). A fact told in one conversation must come
back in it and must not leak into another one.
"""

from __future__ import annotations

import pytest

from conformance.semantics.support import new_chat_id, predict
from conformance.violations import expect

pytestmark = pytest.mark.flowise(
    area="memory", tags=("prediction",), operation="createPrediction", writes=True, requires=("memory",)
)

CODEWORD = "Zephyrine"


def test_same_chat_id_remembers(flowise_client, flowise_caps, flowise_ledger) -> None:
    """Tell a fact, ask for it in the same conversation: the answer has it, with memoryType set."""
    chatflow = flowise_caps.memory_chatflow
    chat_id = new_chat_id(flowise_ledger, "memory")
    predict(flowise_client, chatflow, {"question": f"Remember this: my codeword is {CODEWORD}.", "chatId": chat_id})
    response, data = predict(flowise_client, chatflow, {"question": "What is my codeword?", "chatId": chat_id})
    expect(
        bool(data.get("memoryType")),
        check="memory_type_is_reported",
        message="an answer from a chatflow with memory carries memoryType",
        exchange=flowise_client.exchange_of(response),
    )
    expect(
        CODEWORD.lower() in str(data.get("text", "")).lower(),
        check="same_chat_id_remembers",
        message=f"the answer does not recall the codeword: {str(data.get('text'))[:300]!r}",
        exchange=flowise_client.exchange_of(response),
    )


def test_override_session_id_remembers(flowise_client, flowise_caps, flowise_ledger) -> None:
    """`overrideConfig.sessionId` selects the same memory as chatId does."""
    chatflow = flowise_caps.memory_chatflow
    session = new_chat_id(flowise_ledger, "memory-session")
    config = {"overrideConfig": {"sessionId": session}}
    predict(flowise_client, chatflow, {"question": f"Remember this: my codeword is {CODEWORD}.", **config})
    response, data = predict(flowise_client, chatflow, {"question": "What is my codeword?", **config})
    expect(
        CODEWORD.lower() in str(data.get("text", "")).lower(),
        check="session_id_remembers",
        message=f"the answer does not recall the codeword: {str(data.get('text'))[:300]!r}",
        exchange=flowise_client.exchange_of(response),
    )


def test_new_chat_id_does_not_remember(flowise_client, flowise_caps, flowise_ledger) -> None:
    """A fact told in one conversation is unknown in a new one."""
    chatflow = flowise_caps.memory_chatflow
    told = new_chat_id(flowise_ledger, "memory-told")
    predict(flowise_client, chatflow, {"question": f"Remember this: my codeword is {CODEWORD}.", "chatId": told})
    fresh = new_chat_id(flowise_ledger, "memory-fresh")
    response, data = predict(flowise_client, chatflow, {"question": "What is my codeword?", "chatId": fresh})
    expect(
        CODEWORD.lower() not in str(data.get("text", "")).lower(),
        check="new_chat_id_does_not_remember",
        message="a new conversation knows a fact told in another one",
        exchange=flowise_client.exchange_of(response),
    )
