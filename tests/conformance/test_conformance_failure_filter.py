"""Findings that say nothing about the target are dropped before they reach a report."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from conformance.ledger import Ledger
from conformance.profile import default_spec_path
from conformance.schema.guard import WriteGuard
from conformance.schema.runner import unjudgeable_failures
from conformance.spec import load_spec


def failure(kind: str) -> object:
    return type(kind, (), {})()


@pytest.fixture(scope="module")
def keep():  # type: ignore[no-untyped-def]
    spec = load_spec(default_spec_path())
    guard = WriteGuard(ledger=Ledger("run-filter"), spec=spec, read_only=False)
    guard.rewritten_cases.add("rewritten")
    return unjudgeable_failures(spec, guard)


def case(operation_id: str, *, body: object = None, media_type: str = "application/json", case_id: str = "c") -> object:
    schema = SimpleNamespace(get_operation_id=lambda operation: operation_id)
    return SimpleNamespace(id=case_id, operation=SimpleNamespace(schema=schema), body=body, media_type=media_type)


def test_multipart_negatives_are_dropped(keep) -> None:  # type: ignore[no-untyped-def]
    assert not keep(None, failure("AcceptedNegativeData"), case("createPrediction", media_type="multipart/form-data"), None)
    assert keep(None, failure("AcceptedNegativeData"), case("createPrediction"), None)


def test_rejected_positive_data_needs_a_valid_body(keep) -> None:  # type: ignore[no-untyped-def]
    invalid = case("updateChatflow", body={"name": "x", "flowData": "not json"})
    valid = case("updateChatflow", body={"name": "x", "flowData": "{}"})
    assert not keep(None, failure("RejectedPositiveData"), invalid, None)
    assert keep(None, failure("RejectedPositiveData"), valid, None)


def test_rewritten_requests_are_not_blamed(keep) -> None:  # type: ignore[no-untyped-def]
    for kind in ("RejectedPositiveData", "EnsureResourceAvailability", "UseAfterFree"):
        assert not keep(None, failure(kind), case("deleteChatflow", case_id="rewritten"), None)
    assert keep(None, failure("ServerError"), case("deleteChatflow", case_id="rewritten"), None)


def test_an_emptied_collection_is_not_a_use_after_free(keep) -> None:  # type: ignore[no-untyped-def]
    emptied = SimpleNamespace(status_code=200, content=b"[]")
    still = SimpleNamespace(status_code=200, content=b'[{"id": "m1"}]')
    assert not keep(None, failure("UseAfterFree"), case("getAllChatMessages"), emptied)
    assert keep(None, failure("UseAfterFree"), case("getAllChatMessages"), still)


def test_stored_junk_from_an_accepted_invalid_write_is_not_reported_again() -> None:
    spec = load_spec(default_spec_path())
    guard = WriteGuard(ledger=Ledger("run-taint"), spec=spec, read_only=False)
    keep = unjudgeable_failures(spec, guard)
    negative = SimpleNamespace(generation=SimpleNamespace(mode=SimpleNamespace(is_negative=True)))
    positive = SimpleNamespace(generation=SimpleNamespace(mode=SimpleNamespace(is_negative=False)))

    def write(method: str, operation_id: str, meta: object, answer: dict, path: dict | None = None) -> None:
        schema = SimpleNamespace(get_operation_id=lambda operation: operation_id)
        sent = SimpleNamespace(id="w", method=method, meta=meta, path_parameters=path or {}, body={},
                               operation=SimpleNamespace(schema=schema))
        guard.after_call(None, sent, SimpleNamespace(status_code=200, content=json.dumps(answer).encode(),
                                                     headers={"content-type": "application/json"}))

    write("POST", "createAssistant", negative, {"id": "junk", "credential": "not a uuid"})
    write("PUT", "updateAssistant", negative, {"id": "other"}, path={"id": "edited"})
    write("POST", "createAssistant", positive, {"id": "clean", "credential": "also not a uuid"})

    def schema_failure(path: list) -> object:
        return type("JsonSchemaError", (), {"instance_path": path})()

    listing = SimpleNamespace(status_code=200, content=json.dumps(
        [{"id": "clean", "credential": "x"}, {"id": "junk", "credential": "x"}, {"id": "edited", "credential": "x"}]
    ).encode())
    assert not keep(None, schema_failure([1, "credential"]), case("listAssistants"), listing)
    assert not keep(None, schema_failure([2, "credential"]), case("listAssistants"), listing)
    assert keep(None, schema_failure([0, "credential"]), case("listAssistants"), listing)
    single = SimpleNamespace(status_code=200, content=b'{"id": "junk", "credential": "x"}')
    assert not keep(None, schema_failure(["credential"]), case("getAssistantById"), single)
    clean = SimpleNamespace(status_code=200, content=b'{"id": "clean", "credential": "x"}')
    assert keep(None, schema_failure(["credential"]), case("getAssistantById"), clean)
