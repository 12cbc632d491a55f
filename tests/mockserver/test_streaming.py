"""The stream writer: Flowise's exact frame bytes, deadline pacing, abort, cut, errors and disconnects."""

from __future__ import annotations

import asyncio
import json
import random

import pytest

from mockserver.errors import FlowiseError
from mockserver.faults import read_faults
from mockserver.settings import MockSettings
from mockserver.streaming import (
    HEARTBEAT,
    Finish,
    StreamCut,
    StreamPlan,
    StreamRegistry,
    Tokens,
    abort_streams,
    flowise_frame,
    openai_frame,
    paced_frames,
    register_stream,
)
from mockserver.timing import GenerationSlots, Timing, chunk_tokens


def test_frames_are_byte_exact() -> None:
    assert flowise_frame("start", "") == b'message:\ndata:{"event":"start","data":""}\n\n'
    assert flowise_frame("end", "[DONE]") == b'message:\ndata:{"event":"end","data":"[DONE]"}\n\n'
    # JSON.stringify keeps non-ASCII as is and escapes newlines, so a frame is always one data line
    assert flowise_frame("token", "héllo ✓\nnext") == 'message:\ndata:{"event":"token","data":"héllo ✓\\nnext"}\n\n'.encode()
    assert flowise_frame("token", "\ud800") == b'message:\ndata:{"event":"token","data":"\\ud800"}\n\n'
    assert flowise_frame("token", 'say "hi" \\ \t\x01\u2028') == \
        b'message:\ndata:{"event":"token","data":"say \\"hi\\" \\\\ \\t\\u0001\xe2\x80\xa8"}\n\n'
    assert flowise_frame("metadata", {"chatId": "é"}) == 'message:\ndata:{"event":"metadata","data":{"chatId":"é"}}\n\n'.encode()
    assert openai_frame({"a": 1}) == b'data: {"a":1}\n\n'


def test_timing_offsets_are_absolute_and_follow_the_distribution() -> None:
    fixed = Timing(ttft=0.1, itl=0.02)
    assert fixed.offsets(3, random.Random(1)) == pytest.approx([0.1, 0.12, 0.14])
    for dist in ("uniform", "lognormal"):
        gaps = list(Timing(itl=0.02, itl_dist=dist).intervals(4000, random.Random(7)))
        assert sum(gaps) / len(gaps) == pytest.approx(0.02, rel=0.05)
        assert len(set(gaps)) > 100
    assert Timing.from_settings(MockSettings(db=":memory:", fast=True, ttft_ms=500)).ttft == 0.0
    assert chunk_tokens(["a ", "b ", "c"], 2) == ["a b ", "c"]


def test_fault_headers_are_parsed_and_checked() -> None:
    faults = read_faults({"x-mock-error": "503", "x-mock-delay": "20", "x-mock-itl-ms": "5", "x-mock-abort-after": "2"})
    assert (faults.error_status, faults.delay_ms, faults.itl_ms, faults.abort_after) == (503, 20.0, 5.0, 2)
    assert faults.error().status == 503 and "predictionsServices.buildChatflow" in faults.error().message
    assert faults.timing(MockSettings(db=":memory:", ttft_ms=0)).itl == pytest.approx(0.005)
    with pytest.raises(FlowiseError, match="X-Mock-Error") as caught:
        read_faults({"x-mock-error": "abc"})
    assert caught.value.status == 400
    with pytest.raises(FlowiseError, match="between"):
        read_faults({"x-mock-error": "200"})


def plan(saved: list[str], *, fail: bool = False) -> StreamPlan:
    def finish() -> list[bytes]:
        if fail:
            raise FlowiseError(500, "boom")
        saved.append("full")
        return [flowise_frame("end", "[DONE]")]

    def aborted(partial: str) -> list[bytes]:
        saved.append(f"partial:{partial}")
        return [flowise_frame("end", "[DONE]")]

    return StreamPlan(
        steps=[Tokens(["a ", "b ", "c ", "d"], lambda _i, c: flowise_frame("token", c),
                      first=[flowise_frame("start", "")]), Finish(finish)],
        on_error=lambda message: [flowise_frame("error", message), flowise_frame("end", "[DONE]")],
        on_abort=aborted,
    )


async def collect(frames, *, stop_after: int | None = None) -> list[dict]:
    events = []
    async for frame in frames:
        if frame == HEARTBEAT:
            events.append({"event": ":heartbeat"})
        else:
            events.append(json.loads(frame.decode().split("data:", 1)[1]))
        if stop_after is not None and len(events) >= stop_after:
            break
    return events


async def test_plan_plays_in_order_on_schedule() -> None:
    saved: list[str] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    events = await collect(paced_frames(plan(saved), timing=Timing(ttft=0.03, itl=0.01), rng=random.Random(0),
                                        streams={}, slots=GenerationSlots(), heartbeat_s=30))
    elapsed = loop.time() - start
    assert [e["event"] for e in events] == ["start", "token", "token", "token", "token", "end"]
    assert "".join(e["data"] for e in events if e["event"] == "token") == "a b c d"
    assert saved == ["full"] and elapsed >= 0.06


def test_pacing_does_not_spin_on_a_millisecond_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop (the server's loop) keeps time in whole milliseconds: a wake-up just short of a deadline must
    not turn into a busy loop of zero-length sleeps."""
    uvloop = pytest.importorskip("uvloop", reason="uvloop is the loop the mock serves on; without it there is no ms clock")
    import mockserver.streaming as streaming

    sleeps = 0
    real_sleep = asyncio.sleep

    async def counting_sleep(delay: float) -> None:
        nonlocal sleeps
        sleeps += 1
        await real_sleep(delay)

    monkeypatch.setattr(streaming.asyncio, "sleep", counting_sleep)
    tokens = [f"t{i} " for i in range(20)]
    paced = StreamPlan(steps=[Tokens(tokens, lambda _i, c: flowise_frame("token", c))],
                       on_error=lambda message: [flowise_frame("error", message)])

    async def play() -> list[dict]:
        return await collect(paced_frames(paced, timing=Timing(ttft=0.0073, itl=0.0031), rng=random.Random(0),
                                          streams={}, slots=GenerationSlots(), heartbeat_s=30))

    events = uvloop.run(play())
    monkeypatch.undo()
    assert len(events) == len(tokens)
    assert sleeps <= 2 * len(tokens), f"{sleeps} sleeps for {len(tokens)} tokens"


async def test_heartbeat_comments_fill_long_waits() -> None:
    events = await collect(paced_frames(plan([]), timing=Timing(ttft=0.05, itl=0.0), rng=random.Random(0),
                                        streams={}, slots=GenerationSlots(), heartbeat_s=0.02))
    assert [e["event"] for e in events][:2] == [":heartbeat", ":heartbeat"]


async def test_abort_stops_tokens_and_stores_the_partial_answer() -> None:
    saved: list[str] = []
    streams: StreamRegistry = {}
    control = register_stream(streams, "flow_chat")
    frames = paced_frames(plan(saved), timing=Timing(ttft=0.0, itl=0.05), rng=random.Random(0), streams=streams,
                          slots=GenerationSlots(), heartbeat_s=30, control=control)
    events = await collect(frames, stop_after=3)  # start, token a, token b
    assert abort_streams(streams, "flow_chat") == 1
    events += await collect(frames)
    assert [e["event"] for e in events] == ["start", "token", "token", "end"]
    assert saved == ["partial:a b "]
    assert abort_streams(streams, "flow_chat") == 0  # unregistered when the stream ended


async def test_cut_drops_the_stream_but_the_answer_is_still_stored() -> None:
    saved: list[str] = []
    frames = paced_frames(plan(saved), timing=Timing(), rng=random.Random(0), streams={}, slots=GenerationSlots(), heartbeat_s=30,
                          cut_after=2)
    with pytest.raises(StreamCut):
        await collect(frames)
    assert saved == ["full"]


async def test_an_error_after_opening_becomes_error_then_end() -> None:
    events = await collect(paced_frames(plan([], fail=True), timing=Timing(), rng=random.Random(0), streams={}, slots=GenerationSlots(),
                                        heartbeat_s=30))
    assert events[-2:] == [{"event": "error", "data": "boom"}, {"event": "end", "data": "[DONE]"}]


async def test_a_client_that_leaves_still_gets_its_answer_stored() -> None:
    saved: list[str] = []
    frames = paced_frames(plan(saved), timing=Timing(itl=0.01), rng=random.Random(0), streams={}, slots=GenerationSlots(), heartbeat_s=30)
    await collect(frames, stop_after=2)
    await frames.aclose()
    assert saved == ["full"]


async def test_max_concurrent_queues_generations() -> None:
    slots = GenerationSlots()
    order: list[str] = []

    async def run(name: str) -> None:
        frames = paced_frames(
            StreamPlan(steps=[Tokens(["x"], lambda _i, c: c.encode()), Finish(lambda: order.append(name) or [])],
                       on_error=lambda m: []),
            timing=Timing(ttft=0.03), rng=random.Random(0), streams={}, slots=slots, heartbeat_s=30,
            max_concurrent=1)
        async for _ in frames:
            pass

    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(run("one"), run("two"), run("three"))
    assert loop.time() - start >= 0.09 and sorted(order) == ["one", "three", "two"]
