"""``/chatmessage``: list and delete a chatflow's messages, and abort a running prediction.

The filters follow Flowise's controller: ``chatType`` is one value or a JSON array string such as
``["EXTERNAL"]`` (both INTERNAL and EXTERNAL means no filter), ``order`` is ASC (default) or DESC,
``startDate``/``endDate`` cover whole days, ``feedbackType`` keeps rated answers and their questions.
The list parses the JSON columns (not ``followUpPrompts``) and joins ``execution``; ``feedback=true``
adds each message's feedback row. Deleting removes the matching messages with their feedback and
answers TypeORM's ``{"raw": [], "affected": n}``.

Abort is public and answers ``{"status": 200, "message": "Chat message aborted"}`` whether or not a
prediction was running, as Flowise 3.1 does; what an abort does to the stream is described in
resources/prediction.py.
"""

from __future__ import annotations

import json
from typing import Any

from mockserver import quirks
from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.store import records
from mockserver.store.chatmessages import MessageFilter, delete_messages, list_messages
from mockserver.streaming import abort_streams

__all__ = ["abort_chat_message", "get_all_chat_messages", "remove_all_chat_messages"]

CHAT_TYPES = ("INTERNAL", "EXTERNAL", "EVALUATION", "MCP", "SCHEDULED", "WEBHOOK")
RATINGS = ("THUMBS_UP", "THUMBS_DOWN")


def _listish(value: Any, *, name: str, allowed: tuple[str, ...]) -> list[str] | None:
    """A filter given as one value, a JSON array string, or a repeated query parameter."""
    if value is None or value == "" or value == []:
        return None
    items: list[Any]
    if isinstance(value, list):
        items = value
    else:
        text = str(value).strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                raise FlowiseError(400, f"Invalid {name}: {text!r} is not a JSON array") from None
            items = parsed if isinstance(parsed, list) else [parsed]
        else:
            items = [s.strip() for s in text.split(",") if s.strip()]
    bad = [str(i) for i in items if str(i) not in allowed]
    if bad:
        raise FlowiseError(400, f"Invalid {name}: {', '.join(bad)} (expected one of {', '.join(allowed)})")
    return [str(i) for i in items] or None


def _filter(call: Call) -> MessageFilter:
    q = call.query
    chat_types = _listish(q.get("chatType"), name="chatType", allowed=CHAT_TYPES)
    if chat_types and {"INTERNAL", "EXTERNAL"} <= set(chat_types) and len(set(chat_types)) == 2:
        chat_types = None  # Flowise drops the filter when both are asked for
    order = str(q.get("order") or "ASC").upper()
    if order not in ("ASC", "DESC"):
        raise FlowiseError(400, f"Invalid order: {q.get('order')!r} (expected ASC or DESC)")

    def positive(name: str) -> int | None:
        value = q.get(name)
        if value is None:
            return None
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise FlowiseError(400, f"Invalid {name}: must be an integer") from None
        if number < 1:
            raise FlowiseError(400, f"Invalid {name}: must be 1 or more")
        return number

    return MessageFilter(
        chat_types=chat_types, order=order, chat_id=q.get("chatId"), memory_type=q.get("memoryType"),
        session_id=q.get("sessionId"), start_date=q.get("startDate"), end_date=q.get("endDate"),
        message_id=q.get("messageId"),
        feedback_types=_listish(q.get("feedbackType"), name="feedbackType", allowed=RATINGS),
        page=positive("page"), limit=positive("limit"),
    )


def _chatflow_id(call: Call, where: str) -> str:
    chatflow_id = str(call.path.get("id") or "")
    if records.get(call.db, "chat_flow", chatflow_id) is None:
        if where.endswith("getAllChatMessages") and quirks.active(call, "unknown-owner-empty-list"):
            return chatflow_id  # 2.2 checks no chatflow: nothing is listed
        if where.endswith("getAllChatMessages") and quirks.active(call, "missing-id-500"):
            raise FlowiseError(500, f"Error: {where} - Unauthorized access")  # its workspace check finds nothing
        raise quirks.not_found(call, f"Chatflow {chatflow_id} not found", where=where)
    return chatflow_id


@operation("getAllChatMessages")
async def get_all_chat_messages(call: Call) -> list[dict[str, Any]]:
    chatflow_id = _chatflow_id(call, "chatMessagesService.getAllChatMessages")
    feedback = call.query.get("feedback") in (True, "true")
    return list_messages(call.db, chatflow_id, _filter(call), feedback=feedback)


@operation("removeAllChatMessages")
async def remove_all_chat_messages(call: Call) -> dict[str, Any]:
    chatflow_id = _chatflow_id(call, "chatMessagesService.removeAllChatMessages")
    flt = _filter(call)
    flt.message_id = None
    flt.page = flt.limit = None
    return {"raw": [], "affected": delete_messages(call.db, chatflow_id, flt)}


@operation("abortChatMessage")
async def abort_chat_message(call: Call) -> dict[str, Any]:
    chatflow_id = str(call.path.get("chatflowid") or "")
    chat_id = str(call.path.get("chatid") or "")
    if not chatflow_id or not chat_id or len(chat_id) > 256:
        raise FlowiseError(400, "Invalid chat abort request")
    abort_streams(call.state.streams, f"{chatflow_id}_{chat_id}")
    return {"status": 200, "message": "Chat message aborted"}
