"""Non-streaming prediction: an API client waiting for the whole JSON answer."""

from __future__ import annotations

import json
import time
from typing import Any

from locust import task

from load.metrics import LOCUST_ROWS
from load.users.base import FlowiseUser

__all__ = ["PredictionUser", "predict"]


def predict(user: FlowiseUser, body: dict[str, Any], *, kind: str) -> dict[str, Any] | None:
    """POST a non-streaming prediction; a 200 without an answer `text` still counts as a failure.

    `kind` picks the locust row and the recorder series (`prediction` or `rag`). Returns the answer.
    """
    method, row = LOCUST_ROWS[kind]
    headers = {**user.auth_headers(), "Content-Type": "application/json"}
    started_at = time.time()
    answer: dict[str, Any] | None = None
    message = ""
    with user.client.request(method, user.prediction_path, data=json.dumps(body), headers=headers, name=row,
                             catch_response=True) as response:
        if response.status_code == 200:
            try:
                answer = response.json()
            except ValueError:
                message = "answer is not JSON"
            else:
                if not isinstance(answer, dict) or not isinstance(answer.get("text", answer.get("json")), str | dict):
                    message, answer = "answer has no text", None
        else:
            message = _error_message(response)
        if message:
            response.failure(message)
        else:
            response.success()
        latency_ms = response.request_meta["response_time"]
    sources = len(answer.get("sourceDocuments") or []) if answer else 0
    user.recorder.add_prediction(kind=kind, started_at=started_at, latency_ms=latency_ms, ok=not message,
                                 sources=sources, message=message)
    return answer


def _error_message(response: Any) -> str:
    if not response.status_code:
        return f"no response: {getattr(response, 'error', '')}"
    try:
        return f"HTTP {response.status_code}: {response.json().get('message', '')}"
    except (ValueError, AttributeError, TypeError):
        return f"HTTP {response.status_code}"


class PredictionUser(FlowiseUser):
    """Asks questions without streaming; measured as end-to-end latency, req/s and error rate."""

    @task
    def ask(self) -> None:
        predict(self, self.next_question(), kind="prediction")
