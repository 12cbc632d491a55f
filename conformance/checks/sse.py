"""Flowise's prediction stream, checked from raw bytes: wire format, headers, event order, schema.

Flowise does not write standard SSE: each event is exactly `message:\\ndata:<json>\\n\\n`, where the
first line is an SSE field named "message" with no value (standard parsers ignore it), `data:` has
no space after the colon, there is no `event:` line, and the event name lives inside the one-line
JSON `{"event": <name>, "data": <payload>}` (docs/streaming.md#frame-format). Clients such as
the embed widget depend on those bytes, so the checks read the bytes, not a parser's view of them.

Every function here is pure (bytes, headers or decoded events in; a list of problems out, empty
when fine) so the same code serves the schemathesis checks, the semantics tests and unit tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Frame",
    "ParsedStream",
    "concatenated_tokens",
    "event_order_problems",
    "event_schema_problems",
    "frame_format_problems",
    "parse_stream",
    "stream_header_problems",
]

FRAME_END = b"\n\n"
FRAME_PREFIX = b"message:\ndata:"
#: Headers the controller sets before flushing (docs/streaming.md#response-headers); values compared
#: lowercased.
REQUIRED_HEADERS: dict[str, str] = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "connection": "keep-alive",
    "x-accel-buffering": "no",
}
#: Keys an event object may carry besides `event` and `data` (only `thinking` adds `duration`).
EXTRA_KEYS: dict[str, frozenset[str]] = {"thinking": frozenset({"duration"})}


@dataclass(frozen=True, slots=True)
class Frame:
    """One `\\n\\n`-terminated block of the stream."""

    index: int
    raw: bytes
    is_comment: bool
    event: dict[str, Any] | None
    problem: str | None


@dataclass(frozen=True, slots=True)
class ParsedStream:
    frames: tuple[Frame, ...]
    #: Bytes after the last frame terminator: a cut-off frame when not empty.
    remainder: bytes

    @property
    def events(self) -> list[dict[str, Any]]:
        return [frame.event for frame in self.frames if frame.event is not None]

    @property
    def names(self) -> list[str]:
        return [str(event.get("event")) for event in self.events]


def _show(raw: bytes, limit: int = 80) -> str:
    text = raw.decode("utf-8", errors="replace")
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _parse_frame(index: int, raw: bytes) -> Frame:
    if raw.startswith(b":") and all(line.startswith(b":") for line in raw.split(b"\n")):
        return Frame(index=index, raw=raw, is_comment=True, event=None, problem=None)
    if not raw.startswith(FRAME_PREFIX):
        return Frame(
            index=index,
            raw=raw,
            is_comment=False,
            event=None,
            problem=f"frame {index} does not start with 'message:\\ndata:' but {_show(raw)}",
        )
    payload = raw[len(FRAME_PREFIX) :]
    if payload[:1] in (b" ", b"\t"):
        return Frame(index, raw, False, None, f"frame {index} has whitespace after 'data:' (Flowise writes none)")
    if b"\n" in payload or b"\r" in payload:
        return Frame(index, raw, False, None, f"frame {index} carries more than one data line: {_show(raw)}")
    try:
        event = json.loads(payload)
    except ValueError as exc:
        return Frame(index, raw, False, None, f"frame {index} data is not JSON ({exc}): {_show(payload)}")
    if not isinstance(event, dict):
        return Frame(index, raw, False, None, f"frame {index} data is not a JSON object: {_show(payload)}")
    problem = None
    name = event.get("event")
    extra = set(event) - {"event", "data"} - EXTRA_KEYS.get(str(name), frozenset())
    if not isinstance(name, str):
        problem = f"frame {index} has no string 'event' key: {_show(payload)}"
    elif "data" not in event:
        problem = f"frame {index} ({name}) has no 'data' key"
    elif extra:
        problem = f"frame {index} ({name}) has unexpected keys {sorted(extra)}"
    return Frame(index=index, raw=raw, is_comment=False, event=event, problem=problem)


def parse_stream(body: bytes) -> ParsedStream:
    """Split a stream into frames; keeps going past bad frames so every problem is reported."""
    pieces = body.split(FRAME_END)
    remainder = pieces.pop() if pieces else b""
    frames = tuple(_parse_frame(index, raw) for index, raw in enumerate(pieces))
    return ParsedStream(frames=frames, remainder=remainder)


def frame_format_problems(parsed: ParsedStream) -> list[str]:
    """Every frame is `message:\\ndata:<one-line JSON object>\\n\\n` (or a `:comment`)."""
    problems = [frame.problem for frame in parsed.frames if frame.problem]
    if parsed.remainder.strip():
        problems.append(f"stream ends inside a frame (no blank line after it): {_show(parsed.remainder)}")
    elif parsed.remainder:
        problems.append(f"stream ends with stray bytes after the last frame: {_show(parsed.remainder)}")
    if not parsed.frames and not parsed.remainder:
        problems.append("stream is empty")
    return problems


def stream_header_problems(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[str]:
    """The four headers Flowise sets on a stream (proxies rely on `X-Accel-Buffering: no`)."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    seen = {name.lower(): value for name, value in items}
    problems = []
    for name, expected in REQUIRED_HEADERS.items():
        value = seen.get(name)
        if value is None:
            problems.append(f"missing header {name}: {expected}")
            continue
        actual = value.split(";", 1)[0].strip().lower() if name == "content-type" else value.strip().lower()
        if actual != expected:
            problems.append(f"header {name} is {value!r}, expected {expected!r}")
    return problems


def event_order_problems(events: Sequence[Mapping[str, Any]], *, flow_type: str | None = None) -> list[str]:
    """The order a Flowise client relies on (docs/streaming.md#event-order).

    - `end` with data "[DONE]" is the last event, exactly once;
    - the event right before it is `metadata` (or `error`, when the run failed after the stream opened);
    - `start` comes at most once and before the first `token`; a CHATFLOW must send it before its
      first token (the embed widget opens the bot message on `start`); an AGENTFLOW opens with
      `agentFlowEvent` instead.
    """
    names = [str(event.get("event")) for event in events]
    if not names:
        return ["stream carries no events"]
    problems = []
    if names.count("end") != 1:
        problems.append(f"expected exactly one 'end' event, got {names.count('end')}")
    if names[-1] != "end":
        problems.append(f"last event is {names[-1]!r}, expected 'end'")
    elif events[-1].get("data") != "[DONE]":
        problems.append(f"'end' carries {events[-1].get('data')!r}, expected '[DONE]'")
    if len(names) >= 2 and names[-1] == "end" and names[-2] not in {"metadata", "error"}:
        problems.append(f"event before 'end' is {names[-2]!r}, expected 'metadata'")
    if "error" not in names and names.count("metadata") != 1:
        problems.append(f"expected exactly one 'metadata' event, got {names.count('metadata')}")
    if names.count("start") > 1:
        problems.append(f"'start' sent {names.count('start')} times")
    first_token = names.index("token") if "token" in names else None
    if "start" in names and first_token is not None and names.index("start") > first_token:
        problems.append("'start' arrives after the first 'token'")
    if flow_type == "CHATFLOW" and first_token is not None and "start" not in names:
        problems.append("a CHATFLOW stream sends tokens without a 'start' event first")
    if flow_type == "AGENTFLOW" and names[0] != "agentFlowEvent":
        problems.append(f"an AGENTFLOW stream opens with {names[0]!r}, expected 'agentFlowEvent'")
    return problems


def event_schema_problems(
    events: Sequence[Mapping[str, Any]],
    validate: Callable[[Any], Iterable[str]],
) -> list[str]:
    """Each event against the spec's `PredictionStreamEvent` (`validate` yields error messages)."""
    problems = []
    for index, event in enumerate(events):
        for message in validate(dict(event)):
            problems.append(f"event {index} ({event.get('event')}): {message}")
    return problems


def concatenated_tokens(events: Sequence[Mapping[str, Any]]) -> str:
    """The answer a client shows: the `token` payloads joined in order."""
    return "".join(str(event.get("data", "")) for event in events if event.get("event") == "token")
