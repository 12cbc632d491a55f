"""The request pipeline over a tiny spec: gate, permissions, validation, limits, strict mode, error bodies."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest
from starlette.responses import Response

from mockserver import MockSettings, create_app
from mockserver.errors import FlowiseError
from mockserver.operations import Call, UnboundOperationError, check_bindings
from mockserver.spec import Spec

ERR = {"$ref": "#/components/responses/Err"}
GATE = {"description": "gate", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"], "properties": {"error": {"const": "Unauthorized Access"}}}}}}
FORBIDDEN = {"description": "rbac", "content": {"application/json": {"schema": {
    "type": "object", "required": ["message"], "properties": {"message": {"const": "Forbidden"}}}}}}
TINY: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "tiny", "version": "1"},
    "security": [{"bearerApiKey": []}],
    "components": {
        "securitySchemes": {"bearerApiKey": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Thing": {"type": "object", "required": ["id", "name"],
                      "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
            "FlowiseError": {"type": "object", "required": ["statusCode", "success", "message", "stack"],
                             "properties": {"statusCode": {"type": "integer"}, "success": {"const": False},
                                            "message": {"type": "string"}, "stack": {"type": "object"}}},
        },
        "responses": {"Err": {"description": "error", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/FlowiseError"}}}}},
    },
    "paths": {
        "/things": {
            "get": {"operationId": "listThings", "tags": ["things"],
                    "parameters": [{"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}},
                        "400": ERR, "401": GATE}},
            "post": {"operationId": "createThing", "tags": ["things"], "x-flowise-permission": ["chatflows:create"],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["name"],
                         "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}}}}},
                     "responses": {"200": {"description": "ok", "content": {"application/json": {
                         "schema": {"$ref": "#/components/schemas/Thing"}}}}, "400": ERR, "401": GATE,
                         "403": FORBIDDEN, "413": ERR, "415": ERR, "500": ERR}},
        },
        "/things/{id}": {
            "get": {"operationId": "getThing", "tags": ["things"],
                    "parameters": [{"name": "id", "in": "path", "required": True,
                                    "schema": {"type": "string", "format": "uuid"}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Thing"}}}}, "400": ERR, "404": ERR, "500": ERR}},
        },
        "/ping": {"get": {"operationId": "pingServer", "tags": ["ping"], "security": [],
                          "responses": {"200": {"description": "pong"}}}},
    },
}
KEY = "tiny-admin-key"


async def list_things(call: Call) -> Any:
    return [{"id": "1", "name": f"page {call.query.get('page', 1)}"}]


async def create_thing(call: Call) -> Any:
    if call.body["name"] == "boom":
        raise RuntimeError("exploded")
    if call.body["name"] == "bad-shape":
        return {"id": 7}
    return {"id": str(uuid.uuid4()), "name": call.body["name"]}


async def get_thing(call: Call) -> Any:
    raise FlowiseError(404, f"Thing {call.path['id']} not found")


async def ping(call: Call) -> Any:
    return {"pong": True}


REGISTRY = {"listThings": list_things, "createThing": create_thing, "getThing": get_thing, "pingServer": ping}


def make_client(**overrides: Any) -> httpx.AsyncClient:
    settings = MockSettings(**{"db": ":memory:", "api_key": KEY, "strict": True, "log_requests": False, **overrides})
    app = create_app(settings, spec=Spec(copy.deepcopy(TINY)), registry=REGISTRY)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock")


AUTH = {"Authorization": f"Bearer {KEY}"}


def assert_flowise_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["statusCode", "success", "message", "stack"], body
    assert body["statusCode"] == status and body["success"] is False and body["stack"] == {}
    assert "detail" not in body
    return body


def test_bindings_name_missing_and_orphan_operations() -> None:
    with pytest.raises(UnboundOperationError, match="without a handler: getThing"):
        check_bindings({"listThings", "getThing"}, {"listThings": list_things})
    with pytest.raises(UnboundOperationError, match="without a spec operation: extra"):
        check_bindings({"listThings"}, {"listThings": list_things, "extra": list_things})
    with pytest.raises(UnboundOperationError, match="getThing"):
        create_app(MockSettings(db=":memory:", log_requests=False), spec=Spec(copy.deepcopy(TINY)),
                   registry={k: v for k, v in REGISTRY.items() if k != "getThing"})


async def test_gate_refuses_missing_wrong_and_wrong_case() -> None:
    async with make_client() as client:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "nope"}):
            r = await client.get("/api/v1/things", headers=headers)
            assert r.status_code == 401 and r.json() == {"error": "Unauthorized Access"}
        r = await client.get("/API/V1/things", headers=AUTH)
        assert r.status_code == 401 and r.json() == {"error": "Unauthorized Access"}
        r = await client.get("/api/v1/things", headers={**AUTH, "x-request-from": "internal"})
        assert r.status_code == 401 and r.json() == {"message": "Invalid or Missing token"}


async def test_bearer_and_bare_key_both_pass_and_public_needs_none() -> None:
    async with make_client() as client:
        assert (await client.get("/api/v1/things", headers=AUTH)).status_code == 200
        assert (await client.get("/api/v1/things", headers={"Authorization": KEY})).status_code == 200
        assert (await client.get("/api/v1/ping")).json() == {"pong": True}


async def test_missing_permission_is_403_forbidden() -> None:
    async with make_client() as client:
        ring = client._transport.app.state.mock.keys  # type: ignore[attr-defined]
        _, limited = ring.create("viewer", ["chatflows:view"])
        r = await client.post("/api/v1/things", json={"name": "x"}, headers={"Authorization": f"Bearer {limited}"})
        assert r.status_code == 403 and r.json() == {"message": "Forbidden"}
        assert (await client.get("/api/v1/things", headers={"Authorization": limited})).status_code == 200


async def test_no_auth_opens_everything() -> None:
    async with make_client(no_auth=True) as client:
        assert (await client.post("/api/v1/things", json={"name": "x"})).status_code == 200


async def test_body_errors_have_flowise_shape_and_name_the_field() -> None:
    async with make_client() as client:
        r = await client.post("/api/v1/things", content=b"{bad", headers={**AUTH, "content-type": "application/json"})
        assert "JSON" in assert_flowise_error(r, 400)["message"]
        r = await client.post("/api/v1/things", json={"size": 1}, headers=AUTH)
        assert "name" in assert_flowise_error(r, 400)["message"]
        r = await client.post("/api/v1/things", json={"name": "a", "size": "big"}, headers=AUTH)
        message = assert_flowise_error(r, 400)["message"]
        assert "/size" in message and "integer" in message
        r = await client.post("/api/v1/things", content=b"", headers=AUTH)
        assert_flowise_error(r, 400)
        r = await client.post("/api/v1/things", content=b"name=a", headers={**AUTH, "content-type": "text/plain"})
        assert "content type" in assert_flowise_error(r, 415)["message"]


async def test_parameters_are_validated() -> None:
    async with make_client() as client:
        assert "'id'" in assert_flowise_error(await client.get("/api/v1/things/not-a-uuid", headers=AUTH), 400)["message"]
        assert "'page'" in assert_flowise_error(await client.get("/api/v1/things?page=0", headers=AUTH), 400)["message"]
        assert_flowise_error(await client.get("/api/v1/things?page=x", headers=AUTH), 400)
        r = await client.get("/api/v1/things?page=3", headers=AUTH)
        assert r.json()[0]["name"] == "page 3"
        assert_flowise_error(await client.get(f"/api/v1/things/{uuid.uuid4()}", headers=AUTH), 404)


async def test_oversize_body_is_413() -> None:
    async with make_client(file_size_limit="1kb") as client:
        r = await client.post("/api/v1/things", json={"name": "x" * 2000}, headers=AUTH)
        assert assert_flowise_error(r, 413)["message"] == "request entity too large"


async def test_unknown_routes_and_methods() -> None:
    async with make_client() as client:
        assert (await client.get("/api/v1/nowhere")).status_code == 401
        assert_flowise_error(await client.get("/api/v1/nowhere", headers=AUTH), 404)
        assert_flowise_error(await client.get("/elsewhere"), 404)
        r = await client.delete("/api/v1/things", headers=AUTH)
        assert_flowise_error(r, 405)
        assert "GET" in r.headers["allow"]
    async with make_client(quirks="flowise-3.1") as client:
        r = await client.get("/api/v1/nowhere", headers=AUTH)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


async def test_handler_crash_is_a_flowise_500_without_trace() -> None:
    async with make_client() as client:
        r = await client.post("/api/v1/things", json={"name": "boom"}, headers=AUTH)
        body = assert_flowise_error(r, 500)
        assert "exploded" in body["message"] and "Traceback" not in r.text


async def test_strict_mode_names_operation_and_pointer() -> None:
    async with make_client() as client:
        r = await client.post("/api/v1/things", json={"name": "bad-shape"}, headers=AUTH)
        message = assert_flowise_error(r, 500)["message"]
        assert "createThing" in message and "/paths/~1things/post/responses/200" in message
    async with make_client(strict=False) as client:
        r = await client.post("/api/v1/things", json={"name": "bad-shape"}, headers=AUTH)
        assert r.status_code == 200 and r.json() == {"id": 7}


async def test_cors_preflight_is_answered() -> None:
    async with make_client() as client:
        r = await client.options("/api/v1/things", headers={
            "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")
        r = await client.get("/api/v1/ping", headers={"Origin": "http://localhost:5173"})
        assert r.headers["access-control-allow-origin"] in ("*", "http://localhost:5173")


async def test_spec_is_served() -> None:
    async with make_client() as client:
        for path in ("/api/v1/openapi.json", "/api-docs"):
            r = await client.get(path)
            assert r.status_code == 200 and r.json()["info"]["title"] == "tiny"


async def test_absurdly_nested_json_is_a_400_not_a_crash() -> None:
    async with make_client() as client:
        for depth in (5000, 900):
            body = b"[" * depth + b"]" * depth
            r = await client.post("/api/v1/things", content=b'{"name": "x", "size": ' + body + b"}",
                                  headers={**AUTH, "content-type": "application/json"})
            assert_flowise_error(r, 400)


class _BrokenResponse(Response):
    """A response that fails while being sent, before it starts: the pipeline cannot see that happen."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("the socket was gone")


async def test_a_response_failing_to_send_still_answers_a_flowise_500() -> None:
    async def broken(call: Call) -> Any:
        return _BrokenResponse()

    registry = {**REGISTRY, "pingServer": broken}
    app = create_app(MockSettings(db=":memory:", api_key=KEY, log_requests=False), spec=Spec(copy.deepcopy(TINY)),
                     registry=registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock") as client:
        body = assert_flowise_error(await client.get("/api/v1/ping"), 500)
    assert "RuntimeError: the socket was gone" in body["message"]


async def test_an_unknown_method_meets_the_gate_first_then_flowises_405() -> None:
    async with make_client() as client:
        anonymous = await client.request("FOO", "/api/v1/things")
        assert (anonymous.status_code, anonymous.json()) == (401, {"error": "Unauthorized Access"})
        refused = await client.request("FOO", "/api/v1/things", headers=AUTH)
        assert_flowise_error(refused, 405)
        assert refused.headers["allow"] == "GET, POST"
