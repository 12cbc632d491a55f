"""Storing one prediction: the user's message, the answer, and (for agentflows) the execution.

Flowise writes the user message and then the API message once the flow has returned (never before, so
a request rejected as malformed leaves nothing behind), with the same ``chatId``, ``sessionId``,
``memoryType`` and ``chatType`` on both. JSON columns are stored as ``JSON.stringify`` text;
``followUpPrompts`` is the JSON text of the prompt list. An agentflow run also leaves an ``execution``
row whose ``executionData`` is the executed-data array, referenced by both messages' ``executionId``
(``store/executions.save_execution``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.store.chatmessages import add_messages, dump_json
from mockserver.store.db import Database, new_id, now_iso

__all__ = ["Exchange"]


@dataclass
class Exchange:
    """One question and its answer, ready to be stored."""

    chatflow_id: str
    chat_id: str
    session_id: str
    chat_type: str = "EXTERNAL"
    memory_type: str | None = None
    question: str = ""
    asked_at: str = field(default_factory=now_iso)
    file_uploads: list[dict[str, Any]] | None = None
    lead_email: str | None = None
    answer_id: str = field(default_factory=new_id)
    execution_id: str | None = None
    saved: bool = False

    def save(self, answer: str, *, source_documents: list[dict[str, Any]] | None = None,
             used_tools: list[dict[str, Any]] | None = None, follow_ups: list[str] | None = None,
             action: dict[str, Any] | None = None, db: Database) -> str:
        """Store both messages once (a second call is a no-op); returns the answer's message id."""
        if self.saved:
            return self.answer_id
        common = {"chatflowid": self.chatflow_id, "chatType": self.chat_type, "chatId": self.chat_id,
                  "memoryType": self.memory_type, "sessionId": self.session_id, "executionId": self.execution_id}
        add_messages(
            db,
            dict(role="userMessage", content=self.question, createdDate=self.asked_at,
                 fileUploads=dump_json(self.file_uploads) if self.file_uploads is not None else None,
                 leadEmail=self.lead_email, **common),
            dict(id=self.answer_id, role="apiMessage", content=answer,
                 sourceDocuments=dump_json(source_documents) if source_documents is not None else None,
                 usedTools=dump_json(used_tools) if used_tools else None,
                 followUpPrompts=dump_json(follow_ups) if follow_ups else None, action=dump_json(action), **common),
        )
        self.saved = True
        return self.answer_id
