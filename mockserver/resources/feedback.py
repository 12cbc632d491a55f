"""Thumbs-up/down feedback on chat messages: public, as the embed widget sends it without a key.

Flowise validates a new feedback against its message (``services/feedback/validation.ts``): ``messageId``
is required (400) and must exist (404); a given ``chatId`` or ``chatflowid`` must be the message's (400
``Inconsistent chat ID ...``), and both are filled from the message when absent. ``messageId`` is unique in
``chat_message_feedback`` and Flowise inserts without looking first, so a second feedback for the same
message fails in the database: 500 ``SQLITE_CONSTRAINT: UNIQUE constraint failed`` wrapped by the service.
The contract answers 409; ``--quirks flowise-3.1`` answers Flowise's 500. A client changes its rating with ``PUT /feedback/{feedbackId}`` instead
(what the widget does).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.resources._shape import missing
from mockserver.store import feedback, records
from mockserver.store.chatmessages import message_chat
from mockserver.store.db import new_id, now_iso

__all__: list[str] = []

def _stamp(value: str) -> str:
    """A query date-time in the stored form (UTC, milliseconds, ``Z``), so text comparison orders correctly."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _create(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    message_id = body.get("messageId")
    if not message_id:
        raise FlowiseError(400, "Message ID is required")
    message = message_chat(call.db, message_id)
    if message is None:
        raise FlowiseError(404, f"Message with ID {message_id} not found")
    if body.get("chatId") and body["chatId"] != message["chatId"]:
        raise FlowiseError(400, f"Inconsistent chat ID: message with ID {message_id} does not belong to chat "
                                f"with ID {body['chatId']}")
    if body.get("chatflowid") and body["chatflowid"] != message["chatflowid"]:
        raise FlowiseError(400, f"Inconsistent chatflow ID: message with ID {message_id} does not belong to "
                                f"chatflow with ID {body['chatflowid']}")
    existing = feedback.feedback_of_message(call.db, message_id)
    if existing is not None and active(call, "duplicate-feedback-accepted"):
        # Flowise on SQLite saves a second row; the mock keeps one per message (its list joins on it), updated.
        changes = {"rating": body.get("rating"), "content": body.get("content")}
        records.update(call.db, "chat_message_feedback", existing, changes)
        return {"chatflowid": message["chatflowid"], "chatId": message["chatId"], "messageId": message_id,
                **changes, "id": new_id(), "createdDate": now_iso()}
    if existing is not None:
        if active(call, "duplicate-feedback-500"):
            raise FlowiseError(500, "Error: feedbackService.createChatMessageFeedbackForChatflow - SQLITE_CONSTRAINT: "
                                    "UNIQUE constraint failed: chat_message_feedback.messageId")
        raise FlowiseError(409, f"Feedback for message {message_id} already exists")
    row = {"chatflowid": message["chatflowid"], "chatId": message["chatId"], "messageId": message_id,
           "rating": body.get("rating"), "content": body.get("content"), "id": new_id(),
           "createdDate": now_iso()}
    return records.insert(call.db, "chat_message_feedback", row)


@operation("createChatMessageFeedback")
async def create_chat_message_feedback(call: Call) -> dict[str, Any]:
    return _create(call, dict(call.body or {}))


@operation("createChatMessageFeedbackForChatflow")
async def create_chat_message_feedback_for_chatflow(call: Call) -> dict[str, Any]:
    # Flowise's handler ignores the path id and reads the body; a body chatflowid must still match the message.
    return _create(call, dict(call.body or {}))


@operation("getAllChatMessageFeedback")
async def get_all_chat_message_feedback(call: Call) -> list[dict[str, Any]]:
    """A chatflow's feedback, oldest first by default; Flowise reads ``order``, never ``sortOrder``."""
    query = call.query
    return feedback.list_feedback(
        call.db, call.path["id"], chat_id=query.get("chatId") or None,
        start=_stamp(query["startDate"]) if "startDate" in query else None,
        end=_stamp(query["endDate"]) if "endDate" in query else None,
        descending=str(query.get("order", "ASC")).upper() == "DESC",
    )


@operation("updateChatMessageFeedbackForChatflow")
async def update_chat_message_feedback_for_chatflow(call: Call) -> dict[str, str]:
    feedback_id = call.path["id"]
    if records.get(call.db, "chat_message_feedback", feedback_id) is None:
        # Flowise checks this in the controller, outside the service's 500 wrapper: 404 there too.
        raise missing(call, f"Feedback with ID {feedback_id} not found",
                      where="feedbackService.updateChatMessageFeedbackForChatflow")
    body = call.body or {}
    records.update(call.db, "chat_message_feedback", feedback_id,
                   {k: body[k] for k in ("rating", "content") if k in body})
    return {"status": "OK"}

