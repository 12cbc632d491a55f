"""Incremental parser for the Server-Sent Events stream of a Flowise prediction.

Flowise writes every event as `message:\\ndata:{"event":"<name>","data":<payload>}\\n\\n`: the Flowise
event name lives inside the JSON, not in an SSE `event:` field, and the `message:` line is a field
the SSE standard ignores (servers before 3.1.2 wrote `message` without the colon; both are ignored
the same way). `:heartbeat` comment lines may arrive at any time. See docs/streaming.md#frame-format.

The parser is fed lines (as the HTTP client hands them over, so each frame can be timestamped when
its bytes arrived) or arbitrary chunks (split anywhere, also inside a line or a UTF-8 sequence). It
follows the SSE line rules (LF, CRLF or CR endings; one optional space after the colon; multi-line
data joined with LF) and knows nothing of timing or locust. A standard ``event:`` field names a frame
whose data is not Flowise's JSON, so other SSE dialects (the OpenAI-compatible stream) parse too.
The load tool and the reference harness read streams with it; the suite's frame-format checks
(conformance/checks/sse.py) look at the raw bytes of each frame, which is their job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["UNPARSED", "Frame", "FrameParser", "parse_events"]

UNPARSED = "unparsed"
"""Event name given to a frame whose data is not Flowise's `{"event": ..., "data": ...}` JSON."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One dispatched SSE event, named by Flowise's `event` key (or `unparsed`)."""

    event: str
    data: Any


class FrameParser:
    """Turns Flowise SSE bytes into `Frame`s; counts comment lines (heartbeats) on the side."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = ""
        self._pending = b""
        self._after_cr = False
        self.comments = 0

    def feed(self, chunk: bytes) -> list[Frame]:
        """Parse an arbitrary piece of the body; returns the frames it completed."""
        buffer = self._pending + chunk
        if self._after_cr and buffer.startswith(b"\n"):
            # The CR of a CRLF pair ended the previous chunk: its line is already handled.
            buffer = buffer[1:]
        self._after_cr = False
        frames: list[Frame] = []
        start = 0
        length = len(buffer)
        while start < length:
            lf = buffer.find(b"\n", start)
            cr = buffer.find(b"\r", start, lf if lf >= 0 else length)
            if cr >= 0:
                end, next_start = cr, cr + 1
                if next_start < length and buffer[next_start : next_start + 1] == b"\n":
                    next_start += 1
                elif next_start == length:
                    self._after_cr = True
            elif lf >= 0:
                end, next_start = lf, lf + 1
            else:
                break
            frame = self._line(buffer[start:end])
            if frame is not None:
                frames.append(frame)
            start = next_start
        self._pending = buffer[start:]
        return frames

    def feed_line(self, line: bytes) -> Frame | None:
        """Parse one complete line (with or without its ending), as a line-reading client yields it."""
        return self._line(line.rstrip(b"\r\n"))

    @property
    def idle(self) -> bool:
        """True when no partial line or undispatched data is buffered (a clean place for a stream to end)."""
        return not self._pending and not self._data

    def _line(self, line: bytes) -> Frame | None:
        if not line:
            return self._dispatch()
        if line[:1] == b":":
            self.comments += 1
            return None
        field, colon, value = line.partition(b":")
        if field == b"data":
            if colon and value[:1] == b" ":
                value = value[1:]
            self._data.append(value.decode("utf-8", errors="replace"))
        elif field == b"event":
            self._event = value.decode("utf-8", errors="replace").strip()
        # `message`, `id`, `retry` and unknown fields carry nothing Flowise uses.
        return None

    def _dispatch(self) -> Frame | None:
        named, self._event = self._event, ""
        if not self._data:
            return None
        text = "\n".join(self._data)
        self._data = []
        try:
            payload = json.loads(text)
        except ValueError:
            return Frame(named or UNPARSED, text)
        if isinstance(payload, dict) and isinstance(payload.get("event"), str):
            return Frame(payload["event"], payload.get("data"))
        return Frame(named or UNPARSED, payload)


def parse_events(body: str | bytes) -> list[Frame]:
    """Every frame of a whole stream body."""
    parser = FrameParser()
    frames = parser.feed(body.encode() if isinstance(body, str) else body)
    return [*frames, *parser.feed(b"\n\n")]
