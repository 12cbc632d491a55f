"""The scripted exchanges: the script's integrity, SSE parsing, captures, and the runner's recording."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from conformance.reference.exchanges import (
    SCRIPT,
    TargetContext,
    parse_sse_events,
    resolve_path,
    run_script,
    run_step,
)
from conformance.reference.fidelity import reference_catalogue

SPEC = Path(__file__).resolve().parents[2] / "spec" / "flowise.openapi.yaml"
#: Steps that deliberately call what the spec does not define.
NOT_IN_SPEC = {"unknownRoute"}


def test_step_names_are_unique() -> None:
    names = [step.name for step in SCRIPT]
    assert len(names) == len(set(names))


def test_every_tagged_deviation_is_catalogued_or_proposed() -> None:
    known = set(reference_catalogue().ids)
    tagged = {deviation for step in SCRIPT for deviation in step.deviations}
    assert tagged <= known, tagged - known


def test_every_operation_is_a_spec_operation() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    operations = {op.get("operationId") for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)}
    used = {step.operation for step in SCRIPT if step.operation}
    assert used - NOT_IN_SPEC <= operations, (used - NOT_IN_SPEC) - operations


def test_script_covers_each_family_and_both_prediction_modes() -> None:
    families = {step.family for step in SCRIPT}
    assert {"chatflow", "tool", "variable", "credential", "assistant", "document_store", "apikey", "auth"} <= families
    predictions = [step for step in SCRIPT if step.operation == "createPrediction"]
    for flow in ("$direct", "$chatflow_llm", "$agentflow_llm", "$protected", "$rate_limited"):
        on_flow = [step for step in predictions if step.path.endswith(flow)]
        assert on_flow, flow
    assert any(step.json and step.json.get("streaming") for step in predictions)


def test_flowise_frames_give_event_names() -> None:
    body = (
        'message:\ndata:{"event":"start","data":""}\n\n'
        ":heartbeat\n\n"
        'message:\ndata:{"event":"token","data":"Hello "}\n\n'
        'message:\ndata:{"event":"end","data":"[DONE]"}\n\n'
    )
    assert parse_sse_events(body) == ["start", "token", "end"]


def test_standard_event_lines_and_crlf_are_understood() -> None:
    assert parse_sse_events('event: token\r\ndata: "hi"\r\n\r\nevent: end\r\ndata: [DONE]\r\n\r\n') == ["token", "end"]


def test_resolve_path_reads_objects_lists_and_filters() -> None:
    data = [{"keyName": "a", "id": 1}, {"keyName": "b", "id": 2, "nested": {"x": [5, 6]}}]
    assert resolve_path(data, "[keyName=b].id") == 2
    assert resolve_path(data, "1.nested.x.1") == 6
    assert resolve_path(data, "[keyName=zzz].id") is None
    assert resolve_path({"id": "x"}, "missing.deeper") is None


def _target() -> TargetContext:
    return TargetContext("t", "http://target.test", full_key="full", view_key="view", variables={"direct": "flow-1"})


def test_run_step_sends_auth_fills_variables_and_captures() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"chatId": "c-1", "chatMessageId": "m-1"})

    step = next(s for s in SCRIPT if s.name == "prediction direct reply: JSON")
    target = _target()
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        result = run_step(client, target, step)
    assert seen[0].url.path == "/api/v1/prediction/flow-1"
    assert "authorization" not in seen[0].headers
    assert json.loads(seen[0].content) == {"question": "hi"}
    assert (result.status, result.content_type) == (200, "application/json")
    assert target.variables["direct_chat"] == "c-1" and target.variables["direct_message"] == "m-1"


def test_run_step_records_streams_and_timeouts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"streaming" in request.content:
            raise httpx.ReadTimeout("hung", request=request)
        stream = 'message:\ndata:{"event":"start","data":""}\n\nmessage:\ndata:{"event":"end","data":"[DONE]"}\n\n'
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=stream)

    steps = [s for s in SCRIPT if s.name in {"prediction: streaming, unknown flow", "ping"}]
    results = run_script(_target(), steps, transport=httpx.MockTransport(handler))
    by_name = {result.step: result for result in results}
    assert by_name["ping"].events == ["start", "end"]
    hung = by_name["prediction: streaming, unknown flow"]
    assert (hung.status, hung.error) == (None, "timeout")


@pytest.mark.parametrize("auth, header", [("full", "Bearer full"), ("view", "Bearer view"), ("bare", "full"), ("none", None)])
def test_auth_kinds(auth: str, header: str | None) -> None:
    assert _target().auth_headers(auth).get("Authorization") == header
