from __future__ import annotations

import pytest

from contract.sse import UNPARSED, Frame
from load.metrics import Outcome, StreamObservation, http_failure


def observe(events: list[tuple[float, str, object]], *, end_at: float, failure: str | None = None):
    """Feed (seconds after sending, event, data) to an observation that started at t=10.0 s."""
    observation = StreamObservation(started_at=1000.0, clock_start=10.0)
    for at, event, data in events:
        observation.observe(Frame(event, data), 10.0 + at)
    return observation.finish(10.0 + end_at, failure=failure)


def test_ok_stream_ttft_is_first_token_not_start_event() -> None:
    events = [(0.001, "start", ""), (0.100, "token", "a"), (0.120, "token", "b"), (0.140, "token", "c"),
              (0.150, "metadata", {}), (0.160, "end", "[DONE]")]
    result = observe(events, end_at=0.161)
    assert result.outcome is Outcome.OK
    assert result.tokens == 3
    assert result.ttft_ms == pytest.approx(100.0)
    assert result.e2e_ms == pytest.approx(160.0)
    # ITL = (E2E - TTFT) / (tokens - 1), E2E to `end`.
    assert result.itl_ms == pytest.approx((160.0 - 100.0) / 2)
    assert result.output_tokens_per_s == pytest.approx(3 / 0.160)
    assert result.token_offsets_ms == pytest.approx([100.0, 120.0, 140.0])


def test_single_token_has_no_itl() -> None:
    result = observe([(0.05, "token", "a"), (0.06, "end", "[DONE]")], end_at=0.06)
    assert result.outcome is Outcome.OK
    assert result.itl_ms is None
    assert result.ttft_ms == pytest.approx(50.0)


def test_error_event_then_end_is_an_error_stream() -> None:
    result = observe([(0.1, "token", "a"), (0.2, "error", "Error: boom"), (0.21, "end", "[DONE]")], end_at=0.21)
    assert result.outcome is Outcome.ERROR
    assert result.message == "Error: boom"
    assert result.ttft_ms == pytest.approx(100.0)
    assert result.itl_ms is None and result.output_tokens_per_s is None


def test_missing_end_is_an_aborted_stream() -> None:
    result = observe([(0.1, "token", "a"), (0.2, "token", "b")], end_at=0.3, failure="HTTPParseError: Incomplete")
    assert result.outcome is Outcome.ABORTED
    assert result.message == "HTTPParseError: Incomplete"
    assert result.e2e_ms is None
    assert result.duration_ms == pytest.approx(300.0)
    assert result.tokens == 2


def test_end_without_tokens_is_an_empty_stream() -> None:
    result = observe([(0.0, "start", ""), (0.1, "metadata", {}), (0.1, "end", "[DONE]")], end_at=0.1)
    assert result.outcome is Outcome.EMPTY
    assert result.ttft_ms is None


def test_unparsed_frame_fails_the_stream() -> None:
    result = observe([(0.1, UNPARSED, "garbage"), (0.2, "token", "a"), (0.3, "end", "[DONE]")], end_at=0.3)
    assert result.outcome is Outcome.ERROR
    assert "not Flowise JSON" in result.message


def test_frames_after_end_are_ignored() -> None:
    result = observe([(0.1, "token", "a"), (0.2, "end", "[DONE]"), (0.3, "token", "late")], end_at=0.3)
    assert result.tokens == 1 and result.e2e_ms == pytest.approx(200.0)


def test_http_failure_has_no_stream_metrics() -> None:
    result = http_failure(started_at=1.0, duration_ms=5.0, message="HTTP 404: not found")
    assert result.outcome is Outcome.HTTP_ERROR
    assert (result.ttft_ms, result.itl_ms, result.output_tokens_per_s) == (None, None, None)
