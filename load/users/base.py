"""What every Flowise load user shares: the target chatflow, the API key, pacing and the sample recorder.

Configuration reaches users only through locust's parsed options (the `--flowise-*` arguments that
`load/locustfile.py` registers and `load/runner.py` fills in), because in distributed mode that is the
one channel locust carries from the master to every worker.
"""

from __future__ import annotations

import itertools
import random
import uuid
import weakref
from typing import Any

from locust import FastHttpUser
from locust.env import Environment

from load.recorder import Recorder

__all__ = ["FlowiseUser", "recorder_for"]

QUESTIONS = (
    "What is Flowise?",
    "Summarise the benefits of retrieval augmented generation in three sentences.",
    "How do I stream tokens from a chatflow?",
    "Write a short poem about load testing.",
    "List three ways to reduce time to first token.",
    "Explain the difference between a chatflow and an agentflow.",
)
TURNS_PER_CONVERSATION = 5
"""A user starts a new chatId after this many questions, so memory-backed flows do not grow without bound."""

_recorders: weakref.WeakKeyDictionary[Environment, Recorder] = weakref.WeakKeyDictionary()


def recorder_for(environment: Environment) -> Recorder:
    """The one recorder of a locust process (an environment), created on first use."""
    recorder = _recorders.get(environment)
    if recorder is None:
        recorder = _recorders[environment] = Recorder()
    return recorder


class FlowiseUser(FastHttpUser):
    """Abstract base: knows the chatflow to load, authenticates, keeps a conversation id, paces itself."""

    abstract = True
    network_timeout = 60.0
    """Seconds a read may stall; a stream that hangs (Flowise's stream-error-hang) ends as aborted."""
    connection_timeout = 10.0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        options = environment.parsed_options
        self.chatflow_id: str = getattr(options, "flowise_chatflow_id", "") or ""
        self.api_key: str = getattr(options, "flowise_api_key", "") or ""
        self.run_id: str = getattr(options, "flowise_run_id", "") or "adhoc"
        self.think_time = _think_time(getattr(options, "flowise_think_time", "") or "0")
        self.recorder = recorder_for(environment)
        self.prediction_path = f"/api/v1/prediction/{self.chatflow_id}"
        self._questions = itertools.cycle(random.sample(QUESTIONS, len(QUESTIONS)))
        self._turns = 0
        self.chat_id = self._new_chat_id()

    def wait_time(self) -> float:
        low, high = self.think_time
        return random.uniform(low, high) if high > low else low

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def next_question(self) -> dict[str, Any]:
        """The body of the next prediction: a question in the user's current conversation."""
        if self._turns >= TURNS_PER_CONVERSATION:
            self.chat_id = self._new_chat_id()
            self._turns = 0
        self._turns += 1
        return {"question": next(self._questions), "chatId": self.chat_id}

    def _new_chat_id(self) -> str:
        return f"load-{self.run_id}-{uuid.uuid4().hex[:12]}"


def _think_time(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)
