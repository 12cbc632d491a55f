"""The schemathesis write guard keeps writes on what the schema run itself created."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.ledger import Ledger
from conformance.profile import default_spec_path
from conformance.schema.guard import WriteGuard
from conformance.spec import load_spec

FOREIGN = "11111111-2222-4333-8444-555555555555"
FIXTURE = "99999999-2222-4333-8444-555555555555"


def case(method: str, operation_id: str, *, path: dict | None = None, body: object = None, case_id: str = "c1"):  # type: ignore[no-untyped-def]
    schema = SimpleNamespace(get_operation_id=lambda operation: operation_id)
    return SimpleNamespace(
        id=case_id,
        method=method,
        path="/x",
        operation=SimpleNamespace(schema=schema),
        path_parameters=path or {},
        query={},
        body=body,
    )


@pytest.fixture
def guard() -> WriteGuard:
    ledger = Ledger("run-guard")
    ledger.record("chatflow", FIXTURE, f"/chatflows/{FIXTURE}")
    return WriteGuard(ledger=ledger, spec=load_spec(default_spec_path()), read_only=False, answering_chatflow=FIXTURE)


def test_foreign_ids_in_writes_are_replaced(guard: WriteGuard) -> None:
    delete = case("DELETE", "deleteChatflow", path={"id": FOREIGN})
    guard.before_call(None, delete, {})
    assert delete.path_parameters["id"] != FOREIGN
    again = case("DELETE", "deleteChatflow", path={"id": FOREIGN}, case_id="c2")
    guard.before_call(None, again, {})
    assert again.path_parameters == delete.path_parameters, "replacement must be deterministic"
    assert {"c1", "c2"} <= guard.rewritten_cases


def test_fixtures_are_protected_from_deletes(guard: WriteGuard) -> None:
    delete = case("DELETE", "deleteChatflow", path={"id": FIXTURE})
    guard.before_call(None, delete, {})
    assert delete.path_parameters["id"] != FIXTURE


def test_reads_pass_untouched(guard: WriteGuard) -> None:
    read = case("GET", "getChatflowById", path={"id": FOREIGN})
    guard.before_call(None, read, {})
    assert read.path_parameters["id"] == FOREIGN


def test_what_the_run_created_may_be_written(guard: WriteGuard) -> None:
    created = "22222222-2222-4333-8444-555555555555"
    response = SimpleNamespace(status_code=200, content=b'{"id": "%s", "name": "conformance-run-guard-x"}' % created.encode(), headers={})
    guard.after_call(None, case("POST", "createChatflow", body={"name": "conformance-run-guard-x"}), response)
    assert guard.ledger.owns(created, kind="chatflow")
    update = case("PUT", "updateChatflow", path={"id": created}, body={"name": "renamed"})
    guard.before_call(None, update, {})
    assert update.path_parameters["id"] == created
    assert update.body["name"] == "conformance-run-guard-renamed"


def test_body_ids_are_scrubbed_and_names_prefixed(guard: WriteGuard) -> None:
    create = case("POST", "createChatflow", body={"name": "demo", "apikeyid": FOREIGN, "nested": [{"id": FOREIGN}]})
    guard.before_call(None, create, {})
    assert create.body["name"] == "conformance-run-guard-demo"
    assert FOREIGN not in str(create.body)


def test_predictions_may_use_the_answering_chatflow(guard: WriteGuard) -> None:
    predict = case("POST", "createPrediction", path={"id": FIXTURE}, body={"question": "hi"})
    guard.before_call(None, predict, {})
    assert predict.path_parameters["id"] == FIXTURE


def test_read_only_refuses_writes() -> None:
    ledger = Ledger("run-ro")
    guard = WriteGuard(ledger=ledger, spec=load_spec(default_spec_path()), read_only=True)
    with pytest.raises(RuntimeError, match="read-only"):
        guard.before_call(None, case("POST", "createChatflow", body={}), {})


def test_stores_created_by_an_upsert_get_the_run_name(guard: WriteGuard) -> None:
    upsert = case("POST", "upsertDocument", path={"id": FOREIGN}, body={"createNewDocStore": True, "loader": {"name": "plainText"}})
    guard.before_call(None, upsert, {})
    assert upsert.body["docStore"]["name"].startswith("conformance-run-guard-")
    refresh = case("POST", "refreshDocument", body={"items": [{"createNewDocStore": "true", "docStore": {"name": "x"}}]})
    guard.before_call(None, refresh, {})
    assert refresh.body["items"][0]["docStore"]["name"] == "conformance-run-guard-x"


def test_no_stream_is_asked_of_an_unknown_chatflow(guard: WriteGuard) -> None:
    nowhere = case("POST", "createPrediction", path={"id": "not-a-uuid"}, body={"question": "hi", "streaming": True})
    guard.before_call(None, nowhere, {})
    assert nowhere.body["streaming"] is False
    answering = case("POST", "createPrediction", path={"id": FIXTURE}, body={"question": "hi", "streaming": "true"})
    guard.before_call(None, answering, {})
    assert answering.body["streaming"] == "true"
