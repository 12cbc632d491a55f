"""Fuzzing the mock: random and hostile input on every surface, and the one property that must hold.

Every answer is a well-formed success or error in the shape of the route's family: Flowise's error bodies
under ``/api/v1`` and ``/__mock``, OpenAI's under ``/v1``; never a 5xx, a traceback or FastAPI's
``{"detail": ...}``. Two generators:

- schemathesis over the spec, negative and positive data, against the app in-process (strict mode, so a
  response off the contract is a 500 and fails too);
- hypothesis over what the spec does not describe: the fixture loader, the OpenAI-compatible routes, and
  raw bodies (any bytes, any content type) on the routes that take one.

The default test run makes a few dozen examples of each; ``tox -e fuzz`` (``FUZZ_EXAMPLES=2000``) runs
long.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.process import serve_in_thread
from mockserver import MockSettings, create_app
from mockserver.control import FIXTURE_TABLES

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
ADMIN = "fuzz-admin-key"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.filter_too_much, HealthCheck.data_too_large])

SPEC = Path(__file__).resolve().parents[2] / "spec" / "flowise.openapi.yaml"
#: Set by the module fixture: the mock on a loopback port, a client of it, and a chatflow that answers.
CLIENT = httpx.Client()
FLOW_ID = "00000000-0000-4000-8000-000000000000"

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25)
COLUMNS = sorted({"id", "name", "flowData", "type", "value", "chatflowid", "content", "role", "rating",
                  "deployed", "isPublic", "apikeyid", "createdDate", "sessionId", "chatId", "email"})


def assert_well_formed(path: str, response: Any) -> None:
    """The property every answer must have."""
    assert response.status_code < 500, f"{path}: {response.status_code} {response.text[:300]}"
    if response.status_code < 400:
        return
    media = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    media = ",".join(media) if isinstance(media, list) else media  # schemathesis keeps header lists
    if response.status_code == 429 or "text/html" in media or "text/plain" in media:
        return  # Flowise's rate-limit message and its few text errors
    body = response.json()
    assert "detail" not in body, f"{path}: FastAPI's body leaked: {body}"
    if path.startswith("/v1/"):
        assert set(body) == {"error"} and {"message", "type"} <= set(body["error"]), body
    else:
        assert body in ({"error": "Unauthorized Access"}, {"message": "Forbidden"}) \
            or list(body) == ["statusCode", "success", "message", "stack"], f"{path}: {body}"
    assert "Traceback" not in response.text


# -- schemathesis over the spec ---------------------------------------------------------------------------

SCHEMA = schemathesis.openapi.from_path(str(SPEC), config=schemathesis.Config.from_dict({
    "headers": AUTH,
    "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none"},
}))


@SCHEMA.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_spec_operations_answer_well_formed(case: Any) -> None:
    if "{id}" in case.path and case.path_parameters and case.method == "POST" and "prediction" in case.path:
        case.path_parameters["id"] = FLOW_ID  # give predictions a flow to run sometimes
    response = case.call(base_url=str(CLIENT.base_url).rstrip("/") + "/api/v1", headers=AUTH, timeout=30)
    assert_well_formed("/api/v1" + case.path, response)


# -- hypothesis over the rest -----------------------------------------------------------------------------

rows = st.lists(st.dictionaries(st.sampled_from(COLUMNS) | st.text(max_size=20), JSON, max_size=6), max_size=3)
fixtures = st.dictionaries(st.sampled_from(sorted(FIXTURE_TABLES)) | st.text(max_size=10), rows | JSON, max_size=3)


@FUZZ
@given(body=fixtures)
def test_the_fixture_loader_never_fails_badly(body: dict[str, Any]) -> None:
    response = CLIENT.post("/__mock/seed", headers=AUTH, json=body)
    assert_well_formed("/__mock/seed", response)
    assert CLIENT.get("/__mock/state", headers=AUTH).status_code == 200


messages = st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant"]) | JSON,
                                           "content": st.text(max_size=40) | JSON}), max_size=4) | JSON
completions = st.fixed_dictionaries({"model": st.sampled_from(["gpt-4o-mini", "error-429"]) | JSON},
                                    optional={"messages": messages, "stream": st.booleans() | JSON,
                                              "max_tokens": JSON, "stream_options": JSON, "input": JSON}) | JSON


@FUZZ
@given(body=completions, path=st.sampled_from(["/v1/chat/completions", "/v1/embeddings"]))
def test_the_openai_routes_answer_in_openais_shape(body: Any, path: str) -> None:
    assert_well_formed(path, CLIENT.post(path, json=body))


ROUTES_WITH_BODIES = ["/api/v1/chatflows", "/api/v1/variables", "/api/v1/tools", "/api/v1/feedback",
                      "/api/v1/leads", f"/api/v1/prediction/{FLOW_ID}", f"/api/v1/vector/upsert/{FLOW_ID}",
                      "/__mock/seed", "/v1/chat/completions"]
MEDIA = ["application/json", "multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded",
         "text/plain", "application/json; charset=latin-1", ""]


@FUZZ
@given(path=st.sampled_from(ROUTES_WITH_BODIES), media=st.sampled_from(MEDIA),
       raw=st.binary(max_size=512) | st.text(max_size=300).map(str.encode)
       | JSON.map(lambda v: json.dumps(v).encode()))
def test_raw_bodies_of_any_type_answer_well_formed(path: str, media: str, raw: bytes) -> None:
    headers = {**AUTH, **({"Content-Type": media} if media else {})}
    assert_well_formed(path, CLIENT.post(path, content=raw, headers=headers))


@FUZZ
@given(question=st.text(max_size=200), extra=st.dictionaries(
    st.sampled_from(["streaming", "chatId", "overrideConfig", "history", "uploads", "form", "humanInput",
                     "leadEmail", "action"]), JSON, max_size=4))
def test_predictions_with_any_fields_answer_well_formed(question: str, extra: dict[str, Any]) -> None:
    response = CLIENT.post(f"/api/v1/prediction/{FLOW_ID}", json={"question": question, **extra})
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        assert response.status_code == 200 and "Traceback" not in response.text
        return
    assert_well_formed("/api/v1/prediction", response)


@pytest.fixture(scope="module", autouse=True)
def _mock() -> Iterator[None]:
    global CLIENT, FLOW_ID
    app = create_app(MockSettings(db=":memory:", api_key=ADMIN, strict=True, log_requests=False, fast=True,
                                  file_size_limit=256 * 1024))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        CLIENT = client
        FLOW_ID = client.post("/api/v1/chatflows", headers=AUTH, json={
            "name": "fuzz", "type": "CHATFLOW", "flowData": json.dumps({"nodes": [], "edges": []})}).json()["id"]
        yield
