"""The one writer of streamed bytes: Flowise SSE frames and OpenAI chunks, paced, with heartbeat and abort.

Flowise's ``SSEStreamer`` writes every event as exactly ``message:\\ndata:<JSON>\\n\\n``, the JSON being
``JSON.stringify({event, data})``: one line, no spaces, non-ASCII left as is (docs/streaming.md#frame-format).
``flowise_frame`` reproduces those bytes; ``HEARTBEAT`` is the ``:heartbeat`` comment Flowise
3.1.2+ sends to open clients. ``openai_frame`` writes the ``data: {chunk}`` lines of the OpenAI API.

A handler describes a stream as a ``StreamPlan`` (steps of ready frames, paced token chunks and
``Finish`` callbacks that persist and return the closing frames); ``paced_frames`` plays it against
absolute deadlines (timing.py) and handles the three ways a stream can stop early:

- **abort** (``PUT /chatmessage/abort/{chatflowid}/{chatId}``, registry keyed ``<chatflowid>_<chatId>`` as
  Flowise's AbortControllerPool is): token output stops within one poll interval and the plan's
  ``on_abort`` supplies the closing frames (for a chatflow: the partial answer is stored, then ``metadata``
  and ``end``; for an agentflow: Flowise's TERMINATED events, an ``error`` and ``end``);
- **cut** (``X-Mock-Abort-After``): remaining ``Finish`` steps run silently (the server side completes, as
  in Flowise) and the connection is closed without ``end`` and without the final chunk;
- **client gone**: the remaining ``Finish`` steps still run, so the answer is stored as Flowise stores it.

A ``FlowiseError`` raised by a ``Finish`` step after the stream opened becomes the plan's error frames
(Flowise: ``error "<message>"`` then ``end``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockserver.errors import FlowiseError
from mockserver.timing import GenerationSlots, Timing, generation_slot

__all__ = [
    "HEARTBEAT",
    "OPENAI_DONE",
    "SSE_HEADERS",
    "EventStreamResponse",
    "Finish",
    "Frames",
    "StreamControl",
    "StreamPlan",
    "StreamRegistry",
    "Tokens",
    "abort_streams",
    "flowise_frame",
    "openai_frame",
    "paced_frames",
    "register_stream",
]

logger = logging.getLogger("mockserver.streaming")

HEARTBEAT = b":heartbeat\n\n"
OPENAI_DONE = b"data: [DONE]\n\n"
#: Flowise's SSE headers (besides ``Content-Type: text/event-stream``, set by the response).
SSE_HEADERS: Mapping[str, str] = {"Cache-Control": "no-cache", "Connection": "keep-alive", "X-Accel-Buffering": "no"}
#: Longest single sleep while waiting for a token, so an abort is noticed promptly even with a long TTFT.
_ABORT_POLL_S = 0.2
#: A token this close to its deadline is due. uvloop's clock and timers count whole milliseconds, so a
#: sleep woken just short of the deadline would otherwise re-sleep for "0 ms" and spin until the clock
#: ticks (hundreds of loop turns per token); asyncio's own timers allow the same slack.
_CLOCK_SLACK_S = 0.001


#: ``json.dumps(text, ensure_ascii=False)`` for a string, the encoder's own C routine.
_json_string: Callable[[str], str] = json.encoder.encode_basestring


def _compact_json(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON.stringify escapes it as \\udXXX, so does ensure_ascii
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def flowise_frame(event: str, data: Any) -> bytes:
    """One Flowise SSE event, byte for byte as ``SSEStreamer`` writes it."""
    if isinstance(data, str):  # tokens, the commonest frame: the same bytes without building a document
        try:
            return b'message:\ndata:{"event":%s,"data":%s}\n\n' % (
                _json_string(event).encode("utf-8"), _json_string(data).encode("utf-8"))
        except UnicodeEncodeError:
            pass
    return b"message:\ndata:" + _compact_json({"event": event, "data": data}) + b"\n\n"


def openai_frame(chunk: Mapping[str, Any]) -> bytes:
    """One OpenAI streaming chunk (``data: {json}``, blank line)."""
    return b"data: " + _compact_json(dict(chunk)) + b"\n\n"


Frames = list[bytes]


@dataclass
class Tokens:
    """Token chunks sent on the timing's schedule; ``render(index, chunk)`` makes each frame.

    ``first`` frames go out just before the first chunk (Flowise's ``start`` event is sent with the
    first LLM token).
    """

    chunks: list[str]
    render: Callable[[int, str], bytes]
    first: Frames = field(default_factory=list)


@dataclass
class Finish:
    """A step run when the stream reaches it: persists what it must and returns the frames to send."""

    run: Callable[[], Frames]


Step = bytes | Tokens | Finish


@dataclass
class StreamPlan:
    """A stream, described: steps, plus how to close it on abort and on error."""

    steps: list[Step]
    on_error: Callable[[str], Frames]
    on_abort: Callable[[str], Frames] | None = None
    heartbeat: bytes | None = HEARTBEAT


@dataclass
class StreamControl:
    """The handle the abort endpoint flips for one running stream."""

    key: str
    aborted: bool = False

    def abort(self) -> None:
        self.aborted = True


#: One app's running streams by ``<chatflowid>_<chatId>`` (``MockState.streams``).
StreamRegistry = dict[str, list[StreamControl]]


def register_stream(streams: StreamRegistry, key: str) -> StreamControl:
    """Register a running stream under ``<chatflowid>_<chatId>`` (call ``unregister`` via ``paced_frames``)."""
    control = StreamControl(key)
    streams.setdefault(key, []).append(control)
    return control


def _unregister(active: StreamRegistry, control: StreamControl) -> None:
    controls = active.get(control.key, [])
    if control in controls:
        controls.remove(control)
    if not controls:
        active.pop(control.key, None)


def abort_streams(streams: StreamRegistry, key: str) -> int:
    """Abort every running stream registered under ``key``; returns how many there were."""
    controls = list(streams.get(key, []))
    for control in controls:
        control.abort()
    return len(controls)


class StreamCut(Exception):
    """Raised inside the frame generator to drop the connection without finishing the response."""


async def paced_frames(
    plan: StreamPlan,
    *,
    timing: Timing,
    rng: random.Random,
    streams: StreamRegistry,
    slots: GenerationSlots,
    heartbeat_s: float,
    max_concurrent: int | None = None,
    control: StreamControl | None = None,
    cut_after: int | None = None,
    anchor: float | None = None,
) -> AsyncIterator[bytes]:
    """Play ``plan``: see the module docstring for pacing, abort, cut and disconnect behaviour.

    ``anchor`` (a loop-clock time, normally when the handler received the request) is where the time to
    first token counts from, so time spent between the handler and the first iteration of this generator
    (other requests being parsed under a burst of connections) is absorbed instead of added. A generation
    that had to queue for a ``max_concurrent`` slot counts from the moment it got one.
    """
    loop = asyncio.get_running_loop()
    pending = list(plan.steps)
    streamed: list[str] = []
    sent_tokens = 0
    done = False

    def drain_finishes() -> None:
        for step in pending:
            if isinstance(step, Finish):
                try:
                    step.run()
                except Exception:  # noqa: BLE001 - nobody is listening any more; keep the log honest
                    logger.warning("finishing an interrupted stream failed", exc_info=True)
        pending.clear()

    try:
        asked = loop.time()
        async with generation_slot(slots, max_concurrent):
            start = loop.time()
            if anchor is not None and start - asked < 0.001:
                start = min(anchor, start)
            next_beat = start + heartbeat_s
            first_tokens = True
            while pending:
                step = pending.pop(0)
                if isinstance(step, bytes):
                    yield step
                    continue
                if isinstance(step, Finish):
                    try:
                        frames = step.run()
                    except FlowiseError as exc:
                        pending.clear()
                        for frame in plan.on_error(exc.message):
                            yield frame
                        done = True
                        return
                    for frame in frames:
                        yield frame
                    continue
                base = start if first_tokens else loop.time()
                first_tokens = False
                offsets = timing.offsets(len(step.chunks), rng)
                for index, chunk in enumerate(step.chunks):
                    deadline = base + offsets[index]
                    while True:
                        now = loop.time()
                        if now >= deadline - _CLOCK_SLACK_S or (control is not None and control.aborted):
                            break
                        await asyncio.sleep(min(deadline, next_beat, now + _ABORT_POLL_S) - now)
                        if loop.time() >= next_beat:
                            next_beat += heartbeat_s
                            if plan.heartbeat is not None:
                                yield plan.heartbeat
                    if control is not None and control.aborted:
                        pending.clear()
                        closing = plan.on_abort("".join(streamed)) if plan.on_abort else plan.on_error("Aborted")
                        for frame in closing:
                            yield frame
                        done = True
                        return
                    if cut_after is not None and sent_tokens >= cut_after:  # X-Mock-Abort-After: 0
                        drain_finishes()
                        done = True
                        raise StreamCut()
                    if index == 0:
                        for frame in step.first:
                            yield frame
                    yield step.render(index, chunk)
                    streamed.append(chunk)
                    sent_tokens += 1
                    if cut_after is not None and sent_tokens >= cut_after:
                        drain_finishes()
                        done = True
                        raise StreamCut()
            done = True
    finally:
        if control is not None:
            _unregister(streams, control)
        if not done:
            drain_finishes()


#: Raw header lists by (media type, headers): every stream of a kind sends the same ones.
_RAW_HEADERS: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[bytes, bytes]]] = {}


class EventStreamResponse(Response):
    """A ``text/event-stream`` response over ``paced_frames``; a ``StreamCut`` leaves it unfinished.

    Starlette's ``StreamingResponse`` always sends the final empty chunk, which a client reads as a clean
    end; a cut must look like a dropped connection, so this response returns without completing and the
    server closes the socket. A disconnect listener stops the generator when the client goes away.
    """

    media_type = "text/event-stream"

    def __init__(self, frames: AsyncIterator[bytes], *, headers: Mapping[str, str] | None = None,
                 media_type: str | None = None) -> None:
        self.frames = frames
        self.status_code = 200
        if media_type is not None:
            self.media_type = media_type
        self.background = None
        self.init_headers({**SSE_HEADERS, **(headers or {})})

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        key = (self.media_type, tuple((headers or {}).items()))
        cached = _RAW_HEADERS.get(key)
        if cached is None:
            super().init_headers(headers)
            # Flowise sends ``text/event-stream`` with no charset; Starlette would append one.
            cached = [
                (k, b"text/event-stream") if k == b"content-type" and v.startswith(b"text/event-stream") else (k, v)
                for k, v in self.raw_headers
            ]
            if len(_RAW_HEADERS) < 64:
                _RAW_HEADERS[key] = cached
        self.raw_headers = list(cached)  # a copy: the pipeline adds rate-limit headers to it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        state = {"gone": False, "over": False}

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            if not state["over"] and task is not None:
                state["gone"] = True
                task.cancel()

        listener = asyncio.create_task(listen())
        cut = False
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            try:
                async for frame in self.frames:
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
            except StreamCut:
                cut = True
            finally:
                closer = getattr(self.frames, "aclose", None)
                if closer is not None:
                    await closer()  # runs the generator's cleanup: what must be stored is stored
            if not cut:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not state["gone"] or task is None:
                raise
            task.uncancel()  # the client went away: nothing left to send, nothing to report
        except OSError:
            pass  # the client went away while we were writing: nothing left to tell it
        finally:
            state["over"] = True
            listener.cancel()
        if cut:
            logger.info("stream cut on request (X-Mock-Abort-After)")
