"""The prediction stream, byte for byte: frames, headers, event order, and the same answer as JSON.

The embed widget and the SDKs parse Flowise's own frame format (`message:\\ndata:<json>\\n\\n`), open
the bot message on `start` (chatflows), and stop on `end`; proxies need `X-Accel-Buffering: no`.
For a deterministic flow the tokens must add up to exactly the text the JSON answer gives.
"""

from __future__ import annotations

import pytest

from conformance.checks import sse
from conformance.semantics.support import new_chat_id, predict, random_id, stream_prediction
from conformance.violations import expect

pytestmark = pytest.mark.flowise(
    area="streaming", tags=("prediction",), operation="createPrediction", writes=True, requires=("streaming",)
)

QUESTION = "Stream this answer, please."


@pytest.fixture(scope="module")
def stream(flowise_client, flowise_chatflow, flowise_ledger):
    return stream_prediction(flowise_client, flowise_chatflow, {"question": QUESTION, "chatId": new_chat_id(flowise_ledger)})


def test_stream_headers(stream) -> None:
    """200, text/event-stream, no-cache, keep-alive, X-Accel-Buffering: no."""
    expect(stream.status == 200, check="stream_status_200", message=f"status {stream.status}", exchange=stream.exchange)
    expect(sse.stream_header_problems(stream.headers.items()), check="stream_headers_are_flowise", exchange=stream.exchange)


def test_stream_frames(stream) -> None:
    """Every frame is exactly `message:\\ndata:<one-line JSON>\\n\\n`."""
    expect(
        sse.frame_format_problems(sse.parse_stream(stream.body)),
        check="frames_use_flowise_wire_format",
        exchange=stream.exchange,
    )


def test_stream_events_match_schema(stream, flowise_spec) -> None:
    """Each event is a valid `PredictionStreamEvent` (the spec's x-flowise-event-schema)."""
    events = sse.parse_stream(stream.body).events
    expect(
        sse.event_schema_problems(events, flowise_spec.event_validator),
        check="events_match_event_schema",
        exchange=stream.exchange,
    )


def test_stream_event_order(stream, flowise_caps) -> None:
    """`start` before tokens (chatflows), `metadata` then `end` last."""
    events = sse.parse_stream(stream.body).events
    expect(
        sse.event_order_problems(events, flow_type=flowise_caps.answering_flow_type),
        check="events_follow_flowise_order",
        exchange=stream.exchange,
    )


def test_stream_metadata_names_the_conversation(stream) -> None:
    """The `metadata` event carries the chatId that was sent and the question."""
    events = sse.parse_stream(stream.body).events
    metadata = next((event.get("data") for event in events if event.get("event") == "metadata"), None)
    sent = stream.exchange.request_body or ""
    expect(
        isinstance(metadata, dict) and str(metadata.get("chatId")) in sent and metadata.get("question") == QUESTION,
        check="stream_metadata_names_conversation",
        message=f"metadata is {metadata!r}",
        exchange=stream.exchange,
    )


def test_tokens_equal_json_answer(stream, flowise_client, flowise_chatflow, flowise_ledger, flowise_caps) -> None:
    """For a deterministic flow, the streamed tokens concatenate to the JSON answer's text."""
    if not flowise_caps.answering_chatflow_is_ours:
        pytest.skip("the answering chatflow is the operator's; its answers need not be deterministic")
    streamed = sse.concatenated_tokens(sse.parse_stream(stream.body).events)
    _, data = predict(flowise_client, flowise_chatflow, {"question": QUESTION, "chatId": new_chat_id(flowise_ledger)})
    expect(
        streamed == data.get("text"),
        check="tokens_concatenate_to_answer",
        message=f"tokens give {streamed!r}, the JSON answer is {data.get('text')!r}",
        exchange=stream.exchange,
    )


def test_streaming_unknown_chatflow_answers(flowise_client) -> None:
    """A streaming request for an unknown chatflow gets an answer (404), not a hung connection."""
    result = flowise_client.stream("POST", f"/prediction/{random_id()}", json={"question": "hi", "streaming": True})
    expect(result.completed, check="stream_error_answers", message=f"no answer: {result.error}", exchange=result.exchange)
    expect(
        result.status == 404,
        check="stream_error_answers",
        message=f"status {result.status}, expected 404",
        exchange=result.exchange,
    )
