"""A streamed Flowise prediction under locust: frames parsed as they arrive, metrics fired as locust rows.

Why geventhttpclient (locust's FastHttpUser client) and not httpx: at a thousand concurrent streams the
load generator parses tens of thousands of frames a second on one core; geventhttpclient does the HTTP
framing in C and hands over lines straight from the socket buffer, so a frame is timestamped when its
bytes arrive rather than when a slower client gets round to it. Its public `readline()` splits on CRLF
only, while Flowise ends SSE lines with a bare LF, so lines are read from the wrapped socket response
with an LF separator (`_read_line`).

Each stream fires one locust row for the request itself (response time = E2E to `end`, content size =
output tokens, failed when the stream errored, aborted or stayed empty) and one row each for TTFT, ITL
and output tokens/s (see `load.metrics.LOCUST_ROWS`), and hands the exact result to the recorder.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from contract.sse import FrameParser
from load.metrics import LOCUST_ROWS, Outcome, StreamObservation, StreamResult, http_failure

if TYPE_CHECKING:
    from load.users.base import FlowiseUser

__all__ = ["StreamFailure", "stream_prediction"]


class StreamFailure(Exception):
    """Why a stream counts as a failed request in locust's statistics (grouped by this message)."""


def _read_line(response: Any) -> bytes:
    return response._response.readline(b"\n")


def stream_prediction(user: FlowiseUser, body: dict[str, Any], *, headers: dict[str, str] | None = None) -> StreamResult:
    """POST a streaming prediction, read it to `end` and report it; returns the measured result."""
    method, row = LOCUST_ROWS["stream"]
    headers = {**user.auth_headers(), "Content-Type": "application/json", "Accept": "text/event-stream",
               **(headers or {})}
    payload = json.dumps({**body, "streaming": True})
    started_at = time.time()
    clock_start = time.perf_counter()
    with user.client.request(method, user.prediction_path, data=payload, headers=headers, name=row,
                             stream=True, catch_response=True) as response:
        content_type = (response.headers or {}).get("content-type", "") if response.status_code else ""
        if response.status_code != 200 or "text/event-stream" not in content_type:
            result = http_failure(started_at=started_at, duration_ms=_ms_since(clock_start),
                                  message=_describe_http_failure(response, content_type))
        else:
            result = _read_stream(response, started_at=started_at, clock_start=clock_start)
        response.request_meta["response_time"] = result.duration_ms
        response.request_meta["response_length"] = result.tokens
        if result.outcome is Outcome.OK:
            response.success()
        else:
            response.failure(StreamFailure(f"{result.outcome.value}: {result.message}"))
    _fire_derived(user, result)
    user.recorder.add_stream(result)
    return result


def _read_stream(response: Any, *, started_at: float, clock_start: float) -> StreamResult:
    parser = FrameParser()
    observation = StreamObservation(started_at=started_at, clock_start=clock_start)
    clock = time.perf_counter
    failure: str | None = None
    try:
        while True:
            line = _read_line(response)
            if not line:
                break
            frame = parser.feed_line(line)
            if frame is not None:
                observation.observe(frame, clock())
                if observation.ended:
                    break
    except Exception as exc:  # a reset, a timeout, a truncated chunked body: the stream was cut short
        failure = f"{type(exc).__name__}: {exc}".strip(": ")
    result = observation.finish(clock(), failure=failure)
    if observation.ended:
        _drain(response)
    return result


def _drain(response: Any) -> None:
    """Read what follows `end` (the chunked terminator) so the connection can be reused."""
    try:
        while _read_line(response):
            pass
    except Exception:
        response._response.release()


def _fire_derived(user: FlowiseUser, result: StreamResult) -> None:
    fire = user.environment.events.request.fire
    samples = (("ttft", result.ttft_ms), ("itl", result.itl_ms), ("output_tokens_per_s", result.output_tokens_per_s))
    for key, value in samples:
        if value is None:
            continue
        request_type, name = LOCUST_ROWS[key]
        fire(request_type=request_type, name=name, response_time=value, response_length=0, exception=None,
             context={}, start_time=result.started_at, url=None, response=None)


def _describe_http_failure(response: Any, content_type: str) -> str:
    error = getattr(response, "error", None)
    if not response.status_code:
        return f"no response: {error}" if error else "no response"
    text = ""
    try:
        text = (response.text or "")[:200]
    except Exception:  # the body could not be read either; the status says enough
        pass
    if response.status_code == 200:
        return f"expected text/event-stream, got {content_type or 'no content type'}: {text}"
    message = text
    try:
        message = str(json.loads(text).get("message", text))
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}: {message}"


def _ms_since(clock_start: float) -> float:
    return (time.perf_counter() - clock_start) * 1000.0
