"""Older releases in the harness: Flowise 2.2's bootstrap (keys through its internal route, basic auth,
api.json) and the environment each release gets, against an in-process fake of 2.2.8's gate."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import httpx
import pytest

from conformance.reference.bootstrap import BootstrapError, bootstrap_api_json
from conformance.reference.install import Installation
from conformance.reference.releases import release_for
from conformance.reference.run import release_env
from conformance.reference.server import flowise_env


class Flowise22:
    """2.2.8's gate and key routes: `x-request-from: internal` passes (behind basic auth when set),
    anything else needs a key of api.json; `POST /apikey` takes `keyName` and answers every key."""

    def __init__(self, basic: tuple[str, str] | None) -> None:
        self.basic = basic
        self.keys: list[dict[str, str]] = [{"id": "d" * 32, "keyName": "DefaultKey", "apiKey": "default",
                                            "apiSecret": "x.y", "createdAt": "07-Dec-26"}]
        self.bodies: list[dict[str, object]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-request-from") == "internal":
            if self.basic:
                expected = "Basic " + base64.b64encode(":".join(self.basic).encode()).decode()
                if request.headers.get("authorization") != expected:
                    return httpx.Response(401, text="")
        elif request.headers.get("authorization", "").removeprefix("Bearer ") not in {k["apiKey"] for k in self.keys}:
            return httpx.Response(401, json={"error": "Unauthorized Access"})
        if request.method == "POST" and request.url.path == "/api/v1/apikey":
            body = json.loads(request.content)
            self.bodies.append(body)
            if not body.get("keyName"):
                return httpx.Response(412, json={"statusCode": 412, "success": False, "message": "keyName", "stack": {}})
            self.keys.append({"id": secrets.token_hex(16), "keyName": body["keyName"], "apiKey": secrets.token_urlsafe(32),
                              "apiSecret": "x.y", "createdAt": "07-Dec-26"})
            return httpx.Response(200, json=self.keys)
        return httpx.Response(404)


@pytest.mark.parametrize("basic", [("conformance-basic", "Cf1!secret"), None])
def test_a_22_instance_gets_two_keys_through_its_internal_route(basic: tuple[str, str] | None) -> None:
    server = Flowise22(basic)
    done = bootstrap_api_json("http://flowise", basic_auth=basic, transport=httpx.MockTransport(server.handle))
    assert [k["keyName"] for k in server.keys] == ["DefaultKey", "conformance-full", "conformance-viewonly"]
    assert done.full_key.api_key == server.keys[1]["apiKey"] and done.view_key.id == server.keys[2]["id"]
    assert done.full_key.permissions == () and done.view_key.permissions == ()
    assert server.bodies == [{"keyName": "conformance-full"}, {"keyName": "conformance-viewonly"}]  # no permissions


def test_wrong_basic_auth_is_a_bootstrap_error() -> None:
    server = Flowise22(("conformance-basic", "right"))
    with pytest.raises(BootstrapError, match="answered 401"):
        bootstrap_api_json("http://flowise", basic_auth=("conformance-basic", "wrong"),
                           transport=httpx.MockTransport(server.handle))


def test_each_release_gets_its_environment(tmp_path: Path) -> None:
    old, new = release_for("2.2"), release_for("3.1")
    assert release_env(new, tmp_path, None) == {} and release_env(release_for("3.0"), tmp_path, None) == {}
    extra = release_env(old, tmp_path, ("conformance-basic", "pw"))
    assert extra == {"APIKEY_PATH": str(tmp_path), "APIKEY_STORAGE_TYPE": "json",
                     "FLOWISE_USERNAME": "conformance-basic", "FLOWISE_PASSWORD": "pw"}
    # The caller's own FLOWISE_* variables never reach the instance; the release's do.
    install = Installation(tmp_path / "cache", old)
    env = flowise_env(install, tmp_path / "data", 3999, base={"PATH": "/usr/bin", "FLOWISE_USERNAME": "someone"},
                      extra=extra)
    assert env["FLOWISE_USERNAME"] == "conformance-basic" and env["APIKEY_PATH"] == str(tmp_path)
    assert env["PATH"].split(":")[0] == str(install.node.parent) and "node20" in env["PATH"].split(":")[0]
    assert "FLOWISE_USERNAME" not in flowise_env(install, tmp_path / "data", 3999, base={"FLOWISE_USERNAME": "x"})


def test_a_release_without_agentflows_is_not_asked_to_run_them() -> None:
    from conformance.reference.exchanges import SCRIPT
    from conformance.reference.run import script_for

    assert script_for(release_for("3.0")) == list(SCRIPT)
    old = script_for(release_for("2.2"))
    predictions = {step.path for step in old if step.operation == "createPrediction"}
    assert "/prediction/$chatflow_llm" in predictions and "/prediction/$missing" in predictions
    assert not any(path in predictions for path in ("/prediction/$direct", "/prediction/$human_input", "/prediction/$loop"))
    # Everything that is not an agentflow prediction stays.
    assert [s for s in SCRIPT if s.operation != "createPrediction"] == [s for s in old if s.operation != "createPrediction"]
