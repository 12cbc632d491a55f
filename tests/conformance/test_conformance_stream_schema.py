"""schemathesis, reading the spec as published (no rewriting), validates each streamed event against
`PredictionStreamEvent`: a plain `st run spec/flowise.openapi.yaml` judges Flowise's streams too."""

from __future__ import annotations

import requests
import schemathesis
import yaml
from schemathesis.checks import CheckContext
from schemathesis.config import ChecksConfig
from schemathesis.core.failures import Failure
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import response_schema_conformance

from conformance.profile import default_spec_path

CHATFLOW = "7d6f1b9e-3c2a-4e8b-9a41-5f0c2d8e1a37"


def judge(body: bytes) -> Failure | None:
    document = yaml.safe_load(default_spec_path().read_text())
    schema = schemathesis.openapi.from_dict(
        document, config=schemathesis.Config.from_dict({"base-url": "http://flowise/api/v1"})
    )
    case = schema["/prediction/{id}"]["POST"].Case(
        path_parameters={"id": CHATFLOW}, body={"question": "hi", "streaming": True}, media_type="application/json"
    )
    request = requests.Request("POST", f"http://flowise/api/v1/prediction/{CHATFLOW}").prepare()
    response = Response(
        status_code=200, headers={"content-type": ["text/event-stream"]}, content=body, request=request, elapsed=0.1, verify=True
    )
    context = CheckContext(override=None, auth=None, headers=None, config=ChecksConfig(), transport_kwargs=None, response_checks=None)
    try:
        response_schema_conformance(context, response, case)
    except Failure as failure:
        return failure
    return None


def test_valid_events_pass() -> None:
    body = b'message:\ndata:{"event":"token","data":"x"}\n\nmessage:\ndata:{"event":"end","data":"[DONE]"}\n\n'
    assert judge(body) is None


def test_an_unknown_event_fails() -> None:
    failure = judge(b'message:\ndata:{"event":"tokn","data":"x"}\n\n')
    assert failure is not None and "PredictionStreamEvent" in str(failure)


def test_a_mistyped_payload_fails() -> None:
    failure = judge(b'message:\ndata:{"event":"metadata","data":"not an object"}\n\n')
    assert failure is not None
