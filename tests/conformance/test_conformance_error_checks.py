"""The error-shape checks accept Flowise's three error bodies and reject anything else."""

from __future__ import annotations

from conformance.checks import errors

JSON = {"Content-Type": "application/json; charset=utf-8"}


def test_handler_shape() -> None:
    body = b'{"statusCode":404,"success":false,"message":"Chatflow x not found in the database!","stack":{}}'
    assert errors.error_body_has_flowise_shape(404, JSON, body) == []
    assert errors.error_body_has_flowise_shape(200, JSON, b"[]") == []


def test_handler_shape_problems() -> None:
    problems = errors.error_body_has_flowise_shape(404, JSON, b'{"detail":"Not Found"}')
    assert any("lacks" in problem for problem in problems)
    assert errors.error_body_has_flowise_shape(500, {"Content-Type": "text/html"}, b"<html>")
    mismatched = b'{"statusCode":400,"success":false,"message":"x","stack":{}}'
    assert any("statusCode is 400" in problem for problem in errors.error_body_has_flowise_shape(404, JSON, mismatched))


def test_gate_and_rbac_shapes() -> None:
    assert errors.unauthorized_body_is_flowise(401, JSON, b'{"error":"Unauthorized Access"}') == []
    assert errors.unauthorized_body_is_flowise(200, JSON, b"[]") != []
    assert errors.unauthorized_body_is_flowise(401, JSON, b'{"detail":"no"}') != []
    assert errors.forbidden_body_is_flowise(403, JSON, b'{"message":"Forbidden"}') == []
    assert errors.forbidden_body_is_flowise(403, JSON, b'{"error":"Forbidden"}') != []


def test_framework_defaults_are_refused() -> None:
    assert errors.no_framework_default_error(422, JSON, b'{"detail":[]}')
    assert errors.no_framework_default_error(404, JSON, b'{"detail":"Not Found"}')
    assert errors.no_framework_default_error(400, JSON, b'{"statusCode":400,"success":false,"message":"x","stack":{}}') == []
