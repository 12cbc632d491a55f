"""What a streamed prediction is measured by, and the names those measurements carry everywhere.

The numbers are the ones LLM-serving people compare (TTFT, ITL, end-to-end, output tokens/s). Two
Flowise facts shape them (docs/streaming.md#timing): the server sends its headers (and a `start` event)
before any work is done, so time to first token is taken at the first `token` event, never at the
response headers; and a failure after the stream opened is an `error` event followed by `end` over
HTTP 200, so a stream is judged by its events, not its status.

`StreamObservation` turns timestamped frames into a `StreamResult`; it knows nothing of locust, so
the same arithmetic is unit-tested on canned streams and used under load.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from contract.sse import UNPARSED, Frame

__all__ = [
    "DEFINITIONS",
    "ITL_DEFINITION",
    "LOCUST_ROWS",
    "Outcome",
    "StreamObservation",
    "StreamResult",
    "http_failure",
]

ITL_DEFINITION = (
    "Inter-token latency (ITL) = (E2E - TTFT) / (output tokens - 1), per stream, for streams that reached "
    "`end` without error and carried at least 2 tokens. E2E is measured to the `end` event; one Flowise "
    "`token` event counts as one output token."
)

DEFINITIONS: dict[str, str] = {
    "ttft": "Time to first token: from sending the request to the first `token` event (not to the headers, "
    "which Flowise flushes before doing any work).",
    "itl": ITL_DEFINITION,
    "e2e": "End-to-end latency of a stream: from sending the request to the `end` event.",
    "output_tokens": "Output tokens of one stream: the number of `token` events.",
    "output_tokens_per_s": "Output tokens per second of one stream: output tokens / E2E.",
    "aggregate_output_tokens_per_s": "All output tokens received during the run / the run's measured wall time.",
    "prediction_latency": "End-to-end latency of a non-streaming prediction (request sent to JSON body read).",
    "rag_latency": "End-to-end latency of a prediction on a chatflow with retrieval (non-streaming).",
    "error_rate": "Failed requests / all requests (a stream counts once; error, aborted and empty streams fail).",
}

DERIVED_TYPE = "LLM"
"""locust request type of the rows that are measurements of a stream rather than HTTP requests."""

LOCUST_ROWS = {
    "stream": ("POST", "prediction (stream)"),
    "ttft": (DERIVED_TYPE, "TTFT"),
    "itl": (DERIVED_TYPE, "ITL"),
    "output_tokens_per_s": (DERIVED_TYPE, "output tokens/s per request"),
    "prediction": ("POST", "prediction"),
    "rag": ("POST", "prediction (rag)"),
}
"""(type, name) of each locust stats row this tool fires. The stream row's response time is E2E and its
"content size" is the stream's output tokens; the tokens/s row carries tokens/s in the time column."""


class Outcome(enum.StrEnum):
    """How a stream ended. Anything but OK counts as a failed request."""

    OK = "ok"
    ERROR = "error"  # an `error` event, or a frame that is not Flowise JSON
    ABORTED = "aborted"  # the connection ended (or timed out) before `end`
    EMPTY = "empty"  # `end` arrived without a single `token`
    HTTP_ERROR = "http_error"  # no event stream at all: a non-200 answer or a connection failure


@dataclass(slots=True)
class StreamResult:
    """The measurements of one streamed prediction; times in ms relative to sending the request."""

    started_at: float
    outcome: Outcome
    tokens: int
    ttft_ms: float | None
    e2e_ms: float | None
    duration_ms: float
    message: str = ""
    token_offsets_ms: list[float] = field(default_factory=list)

    @property
    def itl_ms(self) -> float | None:
        if self.outcome is not Outcome.OK or self.tokens < 2 or self.ttft_ms is None or self.e2e_ms is None:
            return None
        return (self.e2e_ms - self.ttft_ms) / (self.tokens - 1)

    @property
    def output_tokens_per_s(self) -> float | None:
        if self.outcome is not Outcome.OK or not self.e2e_ms:
            return None
        return self.tokens / (self.e2e_ms / 1000.0)


class StreamObservation:
    """Accumulates the frames of one stream with their arrival times (seconds on a monotonic clock)."""

    __slots__ = ("_clock_start", "_end_at", "_error", "_token_times", "started_at")

    def __init__(self, *, started_at: float, clock_start: float) -> None:
        self.started_at = started_at
        self._clock_start = clock_start
        self._token_times: list[float] = []
        self._end_at: float | None = None
        self._error: str | None = None

    @property
    def ended(self) -> bool:
        return self._end_at is not None

    def observe(self, frame: Frame, at: float) -> None:
        if self._end_at is not None:
            return
        event = frame.event
        if event == "token":
            self._token_times.append(at)
        elif event == "end":
            self._end_at = at
        elif event == "error" and self._error is None:
            self._error = str(frame.data)
        elif event == UNPARSED and self._error is None:
            self._error = f"frame is not Flowise JSON: {str(frame.data)[:80]!r}"

    def finish(self, at: float, *, failure: str | None = None) -> StreamResult:
        """Close the observation; `failure` says why reading stopped early (connection error, timeout)."""
        to_ms = self._ms
        token_offsets = [to_ms(t) for t in self._token_times]
        ttft = token_offsets[0] if token_offsets else None
        if self._error is not None:
            outcome, message = Outcome.ERROR, self._error
        elif self._end_at is None:
            outcome, message = Outcome.ABORTED, failure or "stream closed before the `end` event"
        elif not token_offsets:
            outcome, message = Outcome.EMPTY, "stream ended without a `token` event"
        else:
            outcome, message = Outcome.OK, ""
        return StreamResult(
            started_at=self.started_at,
            outcome=outcome,
            tokens=len(token_offsets),
            ttft_ms=ttft,
            e2e_ms=to_ms(self._end_at) if self._end_at is not None else None,
            duration_ms=to_ms(self._end_at if self._end_at is not None else at),
            message=message,
            token_offsets_ms=token_offsets,
        )

    def _ms(self, at: float) -> float:
        return (at - self._clock_start) * 1000.0


def http_failure(*, started_at: float, duration_ms: float, message: str) -> StreamResult:
    """The result of a prediction that never became an event stream."""
    return StreamResult(started_at=started_at, outcome=Outcome.HTTP_ERROR, tokens=0, ttft_ms=None,
                        e2e_ms=None, duration_ms=duration_ms, message=message)
