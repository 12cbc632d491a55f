"""The SSE frame checker, from bytes: Flowise's exact frames pass, each kind of break is named."""

from __future__ import annotations

import json

import pytest

from conformance.checks import sse


def frame(event: str, data: object) -> bytes:
    return b"message:\ndata:" + json.dumps({"event": event, "data": data}, separators=(",", ":")).encode() + b"\n\n"


GOOD_CHATFLOW = (
    frame("start", "")
    + frame("token", "Hello ")
    + frame("token", "world")
    + frame("metadata", {"chatId": "c1", "chatMessageId": "m1", "question": "hi", "sessionId": "c1"})
    + frame("end", "[DONE]")
)
GOOD_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


def test_flowise_stream_has_no_problems() -> None:
    parsed = sse.parse_stream(GOOD_CHATFLOW + b":heartbeat\n\n")
    assert sse.frame_format_problems(parsed) == []
    assert sse.event_order_problems(parsed.events, flow_type="CHATFLOW") == []
    assert parsed.names == ["start", "token", "token", "metadata", "end"]
    assert sse.concatenated_tokens(parsed.events) == "Hello world"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'message:\ndata: {"event":"token","data":"x"}\n\n', "whitespace after 'data:'"),
        (b'event:token\ndata:{"event":"token","data":"x"}\n\n', "does not start with"),
        (b'data:{"event":"token","data":"x"}\n\n', "does not start with"),
        (b'message:\ndata:{"event":"token",\ndata:"data":"x"}\n\n', "more than one data line"),
        (b'message:\ndata:["token"]\n\n', "not a JSON object"),
        (b'message:\ndata:{"data":"x"}\n\n', "no string 'event'"),
        (b'message:\ndata:{"event":"token","data":"x","extra":1}\n\n', "unexpected keys"),
        (b'message:\ndata:{"event":"token","data":"x"}\n', "ends inside a frame"),
        (b"", "stream is empty"),
    ],
)
def test_frame_problems_are_named(raw: bytes, expected: str) -> None:
    problems = sse.frame_format_problems(sse.parse_stream(raw))
    assert any(expected in problem for problem in problems), problems


def test_thinking_may_carry_duration() -> None:
    raw = b'message:\ndata:{"event":"thinking","data":"hmm","duration":1.5}\n\n'
    assert sse.frame_format_problems(sse.parse_stream(raw)) == []


def test_headers() -> None:
    assert sse.stream_header_problems(GOOD_HEADERS) == []
    assert sse.stream_header_problems({**GOOD_HEADERS, "Content-Type": "text/event-stream; charset=utf-8"}) == []
    broken = {**GOOD_HEADERS, "Cache-Control": "max-age=60"}
    del broken["X-Accel-Buffering"]
    problems = sse.stream_header_problems(broken)
    assert any("x-accel-buffering" in problem for problem in problems)
    assert any("cache-control" in problem for problem in problems)


def _events(*names: str) -> list[dict[str, object]]:
    return [{"event": name, "data": "[DONE]" if name == "end" else ""} for name in names]


@pytest.mark.parametrize(
    ("names", "flow_type", "expected"),
    [
        (("start", "token", "metadata"), "CHATFLOW", "last event is 'metadata'"),
        (("start", "token", "end", "metadata", "end"), "CHATFLOW", "exactly one 'end'"),
        (("start", "token", "end"), "CHATFLOW", "before 'end' is 'token'"),
        (("token", "start", "metadata", "end"), "CHATFLOW", "after the first 'token'"),
        (("token", "metadata", "end"), "CHATFLOW", "without a 'start'"),
        (("token", "metadata", "end"), "AGENTFLOW", "opens with 'token'"),
        (("start", "start", "metadata", "end"), None, "'start' sent 2 times"),
    ],
)
def test_event_order_problems(names: tuple[str, ...], flow_type: str | None, expected: str) -> None:
    problems = sse.event_order_problems(_events(*names), flow_type=flow_type)
    assert any(expected in problem for problem in problems), problems


def test_error_then_end_is_a_valid_ending() -> None:
    assert sse.event_order_problems(_events("start", "token", "error", "end")) == []


def test_end_must_carry_done() -> None:
    events = [*_events("metadata"), {"event": "end", "data": "bye"}]
    assert any("[DONE]" in problem for problem in sse.event_order_problems(events))


def test_event_schema_problems_use_the_validator() -> None:
    def validate(event: object) -> list[str]:
        return [] if isinstance(event, dict) and event.get("event") == "token" else ["bad"]

    problems = sse.event_schema_problems(_events("token", "nope"), validate)
    assert problems == ["event 1 (nope): bad"]
