"""The differ: what counts as a difference, and how a row is judged."""

from __future__ import annotations

from conformance.reference.differ import compare, compare_shapes, verdict
from conformance.reference.normalise import Normalised


def norm(status: int | None = 200, media: str = "application/json", shape: object = None, events: tuple[str, ...] | None = None,
         error: str | None = None) -> Normalised:
    return Normalised(status=status, media_type=media, shape=shape, events=events, error=error, preview="")


OBJ = {"object": {"id": "string", "n": "number"}}


def test_identical_exchanges_agree() -> None:
    assert compare(norm(shape=OBJ), norm(shape=OBJ)) == []


def test_status_and_media_type_differences_are_named() -> None:
    found = [str(d) for d in compare(norm(404, shape=OBJ), norm(500, "text/html"))]
    assert found == ["status: 404 vs 500", "content-type: application/json vs text/html", "body: JSON vs not JSON"]


def test_missing_and_extra_keys_are_listed_per_side() -> None:
    other = {"object": {"id": "string", "extra": "null"}}
    assert [str(d) for d in compare_shapes(OBJ, other)] == ["keys $: n vs extra"]


def test_type_differences_are_found_deep_in_lists() -> None:
    left = {"array": {"object": {"execution": {"object": {"isPublic": "null"}}}}}
    right = {"array": {"object": {"execution": {"object": {"isPublic": "boolean"}}}}}
    assert [str(d) for d in compare_shapes(left, right)] == ["type $[].execution.isPublic: null vs boolean"]


def test_empty_arrays_fit_any_array_and_unions_fit_their_members() -> None:
    assert compare_shapes({"array": None}, {"array": OBJ}) == []
    assert compare_shapes("null|string", "string") == []
    assert compare_shapes("number", "string") != []


def test_event_sequences_are_compared_whole() -> None:
    same = ("start", "token+", "metadata", "end")
    assert compare(norm(media="text/event-stream", events=same), norm(media="text/event-stream", events=same)) == []
    found = compare(norm(media="text/event-stream", events=same), norm(media="text/event-stream", events=("start", "token+", "end")))
    assert [d.aspect for d in found] == ["events"]


def test_a_hang_differs_from_an_answer_and_two_hangs_agree() -> None:
    assert [str(d) for d in compare(norm(None, "", error="timeout"), norm(404))] == ["transport: timeout vs HTTP 404"]
    assert compare(norm(None, "", error="timeout"), norm(None, "", error="timeout")) == []


def test_verdict_documented_only_without_quirks_and_for_confirmed_deviations() -> None:
    real, mock = norm(500, shape=OBJ), norm(404, shape=OBJ)
    assert verdict(real, real, deviations=("missing-id-500",), quirks=False).label == "agree"
    plain = verdict(real, mock, deviations=("missing-id-500",), quirks=False, confirmed=("missing-id-500",))
    assert (plain.label, plain.deviations, plain.ok) == ("documented", ("missing-id-500",), True)
    assert verdict(real, mock, deviations=("missing-id-500",), quirks=True).label == "differ"
    refuted = verdict(real, mock, deviations=("missing-id-500",), quirks=False, confirmed=())
    assert (refuted.label, refuted.ok) == ("differ", False)
    assert verdict(real, mock, deviations=(), quirks=False).label == "differ"
