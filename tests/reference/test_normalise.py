"""The normaliser: shapes, event sequences and scrubbed previews, never values."""

from __future__ import annotations

from conformance.reference.exchanges import ExchangeResult
from conformance.reference.normalise import (
    collapse_events,
    media_type,
    merge_shapes,
    normalise,
    scrub,
    shape_of,
)


def result(status: int | None = 200, body: str = "", content_type: str = "application/json", **extra: object) -> ExchangeResult:
    headers = {"content-type": content_type} if content_type else {}
    return ExchangeResult("step", "family", "op", "GET", "/api/v1/x", status=status, headers=headers, body=body, **extra)


def test_shape_keeps_keys_and_types_not_values() -> None:
    assert shape_of({"id": "a", "n": 1, "f": 1.5, "ok": True, "none": None}) == {
        "object": {"id": "string", "n": "number", "f": "number", "ok": "boolean", "none": "null"}
    }


def test_shape_of_lists_merges_items_and_empty_lists_have_no_item_shape() -> None:
    assert shape_of([]) == {"array": None}
    assert shape_of([{"a": 1}, {"a": None, "b": "x"}]) == {"array": {"object": {"a": "null|number", "b": "string"}}}


def test_merge_shapes_of_nested_arrays() -> None:
    assert merge_shapes({"array": None}, {"array": "string"}) == {"array": "string"}
    assert merge_shapes("string", {"object": {}}) == "object|string"


def test_two_answers_with_different_ids_and_dates_have_one_shape() -> None:
    first = normalise(result(body='{"id":"8b460848-5eb0-4de2-8e3b-ae9edf7d1d0f","createdDate":"2026-11-23T14:33:20.000Z"}'))
    second = normalise(result(body='{"id":"c6ba269f-9185-4628-a0e8-089824fd5167","createdDate":"2027-01-01T00:00:00.000Z"}'))
    assert first.shape == second.shape
    assert first.preview == second.preview == '{"id":"<uuid>","createdDate":"<date>"}'


def test_token_runs_collapse_but_order_stays() -> None:
    assert collapse_events(["start", "token", "token", "token", "metadata", "end"]) == ("start", "token+", "metadata", "end")
    assert collapse_events(["token"]) == ("token",)
    assert collapse_events(["nextAgentFlow", "nextAgentFlow", "token", "nextAgentFlow"]) == (
        "nextAgentFlow+",
        "token",
        "nextAgentFlow",
    )


def test_media_type_drops_parameters() -> None:
    assert media_type("application/json; charset=utf-8") == "application/json"
    assert media_type("text/HTML; charset=UTF-8") == "text/html"


def test_scrub_hides_secrets_and_parser_positions() -> None:
    text = 'Expected "," at position 17 (line 1 column 18) U2FsdGVkX1abc+/= ' + "k" * 43
    assert scrub(text) == 'Expected "," at <position> <encrypted> <token>'


def test_streams_are_reduced_to_events_and_text_bodies_have_no_shape() -> None:
    stream = normalise(result(body="", content_type="text/event-stream", events=["start", "token", "token", "end"]))
    assert stream.events == ("start", "token+", "end")
    assert stream.shape is None
    html = normalise(result(body="<!doctype html><html></html>", content_type="text/html; charset=UTF-8"))
    assert (html.media_type, html.shape) == ("text/html", None)


def test_transport_errors_are_kept_as_their_kind() -> None:
    hung = normalise(result(status=None, content_type="", error="timeout"))
    assert (hung.status, hung.error, hung.preview) == (None, "timeout", "(timeout)")
    refused = normalise(result(status=None, content_type="", error="connection: ConnectError"))
    assert refused.error == "connection"
