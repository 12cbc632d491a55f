"""Conversation memory: the turns a memory-enabled flow sees, and the facts the answer can recall.

Flowise's Buffer Memory reads the ``chat_message`` rows of ``(chatflowid, sessionId)`` in creation order,
with the request's ``history`` items prepended (docs/prediction.md#memory-and-history); the AGENTFLOW LLM
node with ``llmEnableMemory`` reads the same rows. The mock does the same, ordered by the ``seq`` column because
two messages can share a millisecond timestamp.

``recall`` picks what the fake LLM "remembers": a ``my <thing> is <value>`` or ``I am``/``I'm``/``call me``
statement from earlier user turns (most recent wins), so a conversation like "my name is Ada" → "what is my
name?" gets an answer that names Ada.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mockserver.store.chatmessages import session_messages
from mockserver.store.db import Database

__all__ = ["Fact", "Turn", "history_from_request", "load_history", "recall"]

_MY_THING = re.compile(r"\bmy ([a-z][\w ]{0,30}?) (?:is|are|was) ([^.?!,;\n]{1,80})", re.IGNORECASE)
_I_AM = re.compile(r"\b(?:i am|i'm|call me) ([^.?!,;\n]{1,60})", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, as the LLM sees it (``user`` or ``assistant``)."""

    role: str
    content: str


@dataclass(frozen=True)
class Fact:
    """A remembered statement: ``subject`` (e.g. "name") and ``value`` (e.g. "Ada"), plus the turn it came from."""

    subject: str
    value: str
    said: str

    def answer_to(self, question: str) -> str | None:
        """The recalled fact phrased for ``question`` if it asks about it ("what is my name?" → "Your name is Ada.")."""
        lowered = question.lower()
        if self.subject == "you" and re.search(r"\b(who am i|my name|about me)\b", lowered):
            return f"You are {self.value}."
        if self.subject != "you" and f"my {self.subject}" in lowered:
            return f"Your {self.subject} is {self.value}."
        return None


_ROLE_BY_TYPE = {"userMessage": "user", "apiMessage": "assistant", "user": "user", "assistant": "assistant",
                 "human": "user", "ai": "assistant"}


def history_from_request(items: Iterable[dict[str, Any]]) -> list[Turn]:
    """Turn validated ``history`` items (``{role|type, content|message}``) into turns."""
    turns = []
    for item in items:
        kind = item.get("role") or item.get("type")
        text = item.get("content") if isinstance(item.get("content"), str) else item.get("message")
        turns.append(Turn(_ROLE_BY_TYPE.get(str(kind), "user"), str(text or "")))
    return turns


def load_history(db: Database, *, chatflow_id: str, session_id: str) -> list[Turn]:
    """The stored turns of one session of one chatflow, oldest first."""
    rows = session_messages(db, chatflow_id=chatflow_id, session_id=session_id)
    return [Turn(_ROLE_BY_TYPE.get(r["role"], "user"), r["content"] or "") for r in rows]


def recall(history: list[Turn]) -> Fact | None:
    """The most recent fact the user stated about themselves, or ``None``."""
    for turn in reversed(history):
        if turn.role != "user":
            continue
        mine = list(_MY_THING.finditer(turn.content))
        if mine:
            last = mine[-1]
            return Fact(last.group(1).strip().lower(), last.group(2).strip(), turn.content.strip())
        me = list(_I_AM.finditer(turn.content))
        if me:
            return Fact("you", me[-1].group(1).strip(), turn.content.strip())
    return None
