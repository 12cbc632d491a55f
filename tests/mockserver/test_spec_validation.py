"""``Spec.errors``: the compiled fast check and the detailed ``jsonschema`` pass must agree on every verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.spec import Spec, load_spec

DOC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "formats", "version": "1"},
    "components": {"schemas": {
        "Body": {"type": "object", "required": ["flowData"], "properties": {
            "flowData": {"type": "string", "format": "json-string"},
            "config": {"type": "string", "format": "json-object-string"},
            "id": {"type": "string", "format": "uuid"},
            "when": {"type": "string", "format": "date-time"},
            "code": {"type": "string", "pattern": "^[a-z]+$"},
            "count": {"type": "integer", "minimum": 0},
        }},
    }},
    "paths": {"/things/{id}": {"post": {
        "operationId": "makeThing",
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}},
        "responses": {"200": {"description": "ok"}},
    }}},
}
POINTER = "/paths/~1things~1{id}/post/requestBody/content/application~1json/schema"


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec(DOC)


@pytest.mark.parametrize("body, field", [
    ({"flowData": "{not json"}, "flowData"),
    ({"flowData": "{}", "config": "[1, 2]"}, "config"),
    ({"flowData": "{}", "id": "not-a-uuid"}, "id"),
    ({"flowData": "{}", "when": "yesterday"}, "when"),
    ({"flowData": "{}", "code": "ABC"}, "code"),
    ({"flowData": "{}", "count": -1}, "count"),
    ({"flowData": "{}", "count": True}, "count"),
    ({}, ""),
])
def test_invalid_bodies_are_reported_with_their_field(spec: Spec, body: dict[str, Any], field: str) -> None:
    errors = spec.errors(POINTER, body)
    assert errors, body
    assert "/".join(str(p) for p in errors[0].absolute_path) == field


@pytest.mark.parametrize("body", [
    {"flowData": json.dumps({"nodes": []}), "config": "{}", "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
     "when": "2026-11-23T10:00:00.000Z", "code": "abc", "count": 3},
    {"flowData": "[]", "count": 2**80},  # beyond 64 bits: the compiled check may refuse it, jsonschema decides
])
def test_valid_bodies_pass(spec: Spec, body: dict[str, Any]) -> None:
    assert spec.errors(POINTER, body) == []


def test_what_jsonschema_accepts_is_accepted_even_when_the_fast_check_is_stricter(spec: Spec) -> None:
    # Python's ``$`` also matches before a final newline, ECMA's does not: jsonschema's verdict stands.
    body = {"flowData": "{}", "code": "abc\n"}
    assert spec.fast_validator(POINTER) is not None
    assert not spec.fast_validator(POINTER).is_valid(body)
    assert spec.errors(POINTER, body) == []


def test_every_schema_of_the_real_spec_compiles_and_agrees_on_its_examples() -> None:
    spec = load_spec()
    checked = 0
    for op in spec.operations.values():
        for media, pointer in op.body_media.items():
            if not pointer:
                continue
            assert spec.fast_validator(pointer) is not None, (op.operation_id, media)
            for example in spec.resolve(pointer.rsplit("/schema", 1)[0]).get("examples", {}).values():
                value = example.get("value") if isinstance(example, dict) else None
                if value is None or "$ref" in example:
                    continue
                assert spec.fast_validator(pointer).is_valid(value) == (not spec.errors(pointer, value))
                checked += 1
    assert checked > 10
