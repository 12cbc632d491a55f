"""The spec-generated case matrix: every operation is in it, and both mocks answer every case in shape.

Default tier: the matrix is generated from the spec and sent to two in-process mocks on loopback
(`--quirks flowise-3.1` and plain), no npm, no network. Each answer must be one Flowise could give:
a status the operation documents (a 500 only where the spec lists one and, for the plain mock, never
on a client's mistake), a Flowise error body (the error handler's `{statusCode, success, message, stack}`,
a controller's own `{success, message}`, the gate's `{"error": ...}` or RBAC's `{"message": ...}`) and
never FastAPI's `{"detail": ...}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from conformance.reference.case_report import case_verdicts, matrix_counts, render_matrix
from conformance.reference.cases import CASES, NEEDS_SERVICES, build_matrix, case_steps, operations
from conformance.reference.exchanges import ExchangeResult, Step, run_script
from conformance.reference.fidelity import Column, compare_targets
from conformance.reference.targets import prepare_target
from contract.process import serve_in_thread
from contract.spec import iter_operations, read_document
from mockserver import MockSettings, create_app

KEY = "sk-case-matrix"
DOCUMENT = read_document()
MATRIX = build_matrix(DOCUMENT)
STEPS = case_steps(MATRIX)


def _documented(step: Step) -> set[int]:
    for _method, _path, raw in iter_operations(DOCUMENT):
        if raw.get("operationId") == step.operation:
            return {int(code) for code in raw.get("responses", {}) if code.isdigit()}
    raise AssertionError(f"{step.operation} is not a spec operation")


@pytest.fixture(scope="module")
def answers() -> Iterator[dict[str, list[ExchangeResult]]]:
    found: dict[str, list[ExchangeResult]] = {}
    for label, quirks in (("quirks", "flowise-3.1"), ("plain", None)):
        settings: dict[str, Any] = {"db": ":memory:", "api_key": KEY, "log_requests": False, "fast": True}
        if quirks:
            settings["quirks"] = quirks
        with serve_in_thread(create_app(MockSettings(**settings))) as url:
            target = prepare_target(label, url, full_key=KEY, llm_basepath=url + "/v1")
            found[label] = run_script(target, STEPS)
    yield found


def test_every_spec_operation_is_in_the_matrix_with_every_case() -> None:
    in_spec = {str(raw.get("operationId")) for _, _, raw in iter_operations(DOCUMENT)}
    cells = {(case.operation, case.case) for case in MATRIX}
    assert {operation for operation, _ in cells} == in_spec
    for operation in in_spec:
        assert {case for op, case in cells if op == operation} >= set(CASES), operation


def test_a_left_out_case_says_why_and_a_sent_one_has_steps() -> None:
    for case in MATRIX:
        assert case.sent != bool(case.reason), (case.operation, case.case)
    sent = {(case.operation, case.case) for case in MATRIX if case.sent}
    assert ("updateChatflow", "missing required field") not in sent  # no required field in its schema
    assert ("deleteTool", "happy path") in sent and ("deleteTool", "repeated call") in sent
    assert ("createTool", "duplicate create") in sent and ("listChatflows", "under-privileged key") not in sent
    assert ("getAllCredentials", "under-privileged key") in sent and ("pingServer", "no key") not in sent
    assert all(("vectorUpsert", case) not in sent for case in ("happy path", "repeated call"))
    assert set(NEEDS_SERVICES) <= {op.operation_id for op in operations(DOCUMENT)}


def test_on_a_line_without_agentflows_the_cases_chatflow_is_the_conversation_chain() -> None:
    """2.2 cannot run the Direct Reply agentflow, so its matrix creates the LLM chatflow instead."""
    def created(line: str) -> set[tuple[str, str]]:
        return {(step.json["flowData"], step.json["type"]) for step in case_steps(build_matrix(DOCUMENT, line=line))
                if step.case == "setup" and step.operation == "createChatflow"}

    assert created("2.2") == {("$llm_flow_data", "CHATFLOW")}
    assert created("3.0") == created("3.1") == {("$direct_flow_data", "AGENTFLOW")}
    steps = case_steps(build_matrix(DOCUMENT, line="2.2"))
    settings = MockSettings(db=":memory:", api_key=KEY, log_requests=False, fast=True, quirks="flowise-2.2")
    with serve_in_thread(create_app(settings)) as url:
        target = prepare_target("2.2", url, full_key=KEY, llm_basepath=url + "/v1")
        assert url + "/v1" in target.variables["llm_flow_data"]  # the LLM chatflow, on this target's LLM
        results = run_script(target, steps)
    setups = [(step.name, result.status) for step, result in zip(steps, results, strict=True) if step.case == "setup"]
    assert setups and all(status == 200 for _, status in setups), [s for s in setups if s[1] != 200]


def test_the_matrix_is_deterministic_and_its_names_unique() -> None:
    again = case_steps(build_matrix(DOCUMENT))
    assert again == STEPS
    names = [step.name for step in STEPS]
    assert len(names) == len(set(names))


def test_destructive_cases_only_touch_what_the_operation_created() -> None:
    reference_vars = ("$direct", "$chatflow_llm", "$protected", "$rate_limited", "$credential_id")
    for step in STEPS:
        if step.method in {"PUT", "DELETE", "PATCH"}:
            assert not any(step.path.endswith(var) or f"{var}/" in step.path or f"{var}?" in step.path
                           for var in reference_vars), step.name


def _error_shape_problem(result: ExchangeResult) -> str | None:
    if result.status is None:
        return f"no answer ({result.error})"
    try:
        body = json.loads(result.body) if result.body else None
    except ValueError:
        body = None
    if isinstance(body, dict) and "detail" in body:
        return f"FastAPI default body: {result.body[:120]}"
    if result.status >= 400 and "json" in result.headers.get("content-type", ""):
        if not (isinstance(body, dict) and ({"success", "message"} <= body.keys()
                                            or set(body) in ({"error"}, {"message"}))):
            return f"not a Flowise error body: {result.body[:120]}"
    return None


@pytest.mark.parametrize("label", ["quirks", "plain"])
def test_every_case_gets_an_answer_of_the_right_shape(answers: dict[str, list[ExchangeResult]], label: str) -> None:
    problems = []
    for step, result in zip(STEPS, answers[label], strict=True):
        problem = _error_shape_problem(result)
        if problem is None and result.status not in _documented(step):
            problem = f"status {result.status} is not documented"
        if problem is None and label == "plain" and result.status == 500:
            problem = f"500 without quirks: {result.body[:120]}"
        if problem:
            problems.append(f"{step.name}: {problem}")
    assert not problems, "\n".join(problems)


def test_the_matrix_report_has_a_cell_per_operation_and_case(answers: dict[str, list[ExchangeResult]]) -> None:
    fidelity = compare_targets(STEPS, Column("quirks", answers["quirks"], False),
                               [Column("plain", answers["plain"], False)])
    verdicts = case_verdicts(fidelity, MATRIX)
    assert len(verdicts) == len(MATRIX)
    counts = matrix_counts(fidelity, MATRIX)["plain"]
    assert sum(counts.values()) == sum(1 for case in MATRIX if case.case != "setup")
    assert counts["agree"] > 0 and counts["left out"] > 0
    text = render_matrix(fidelity, MATRIX)
    assert "| `createTool` |" in text and "## Cases left out" in text
