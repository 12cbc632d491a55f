"""Streaming prediction: the chat-UI client, measured in TTFT, ITL, E2E and output tokens/s."""

from __future__ import annotations

from locust import task

from load.sse_client import stream_prediction
from load.users.base import FlowiseUser

__all__ = ["StreamingUser"]


class StreamingUser(FlowiseUser):
    """Asks questions with `streaming: true` and reads each answer to its `end` event."""

    @task
    def ask_streaming(self) -> None:
        stream_prediction(self, self.next_question())
