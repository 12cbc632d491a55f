from __future__ import annotations

import json

import pytest

from contract.sse import UNPARSED, Frame, FrameParser


def flowise(event: str, data: object, *, colon: bool = True, newline: str = "\n") -> bytes:
    head = "message:" if colon else "message"
    body = json.dumps({"event": event, "data": data}, separators=(",", ":"))
    return f"{head}{newline}data:{body}{newline}{newline}".encode()


STREAM = b"".join([
    flowise("start", ""),
    flowise("token", "Hel"),
    b":heartbeat\n\n",
    flowise("token", "lo ✓"),
    flowise("metadata", {"chatId": "c1", "chatMessageId": "m1", "question": "q", "sessionId": "c1",
                         "memoryType": None}),
    flowise("end", "[DONE]"),
])
EXPECTED = [Frame("start", ""), Frame("token", "Hel"), Frame("token", "lo ✓"),
            Frame("metadata", {"chatId": "c1", "chatMessageId": "m1", "question": "q", "sessionId": "c1",
                               "memoryType": None}),
            Frame("end", "[DONE]")]


def feed_all(parser: FrameParser, chunks: list[bytes]) -> list[Frame]:
    return [frame for chunk in chunks for frame in parser.feed(chunk)]


def test_whole_stream_in_one_chunk() -> None:
    parser = FrameParser()
    assert parser.feed(STREAM) == EXPECTED
    assert parser.comments == 1
    assert parser.idle


@pytest.mark.parametrize("size", [1, 2, 3, 7, 16, 64])
def test_stream_split_at_every_chunk_size(size: int) -> None:
    # Splits land inside `message:`, inside the JSON, between CR and LF, and inside the UTF-8 of "✓".
    parser = FrameParser()
    frames = feed_all(parser, [STREAM[i : i + size] for i in range(0, len(STREAM), size)])
    assert frames == EXPECTED
    assert parser.idle


def test_crlf_and_cr_line_endings() -> None:
    for newline in ("\r\n", "\r"):
        data = flowise("token", "a", newline=newline) + flowise("end", "[DONE]", newline=newline)
        for size in (1, len(data)):
            parser = FrameParser()
            frames = feed_all(parser, [data[i : i + size] for i in range(0, len(data), size)])
            assert frames == [Frame("token", "a"), Frame("end", "[DONE]")], (newline, size)


def test_message_line_without_colon_from_older_servers() -> None:
    data = flowise("token", "x", colon=False) + flowise("end", "[DONE]", colon=False)
    assert FrameParser().feed(data) == [Frame("token", "x"), Frame("end", "[DONE]")]


def test_line_api_matches_chunk_api() -> None:
    parser = FrameParser()
    frames = [f for line in STREAM.splitlines(keepends=True) if (f := parser.feed_line(line)) is not None]
    assert frames == EXPECTED


def test_standard_sse_space_after_colon_and_multiline_data() -> None:
    data = b'event: message\ndata: {"event":"token",\ndata: "data":"x"}\n\n'
    assert FrameParser().feed(data) == [Frame("token", "x")]


def test_non_flowise_payload_is_reported_unparsed() -> None:
    frames = FrameParser().feed(b"data:not json\n\ndata:[1,2]\n\n")
    assert frames == [Frame(UNPARSED, "not json"), Frame(UNPARSED, [1, 2])]


def test_incomplete_frame_is_not_dispatched() -> None:
    parser = FrameParser()
    assert parser.feed(b'message:\ndata:{"event":"end","data":"[DONE]"}\n') == []
    assert not parser.idle
