"""Triage: every failure of the suite gets a verdict; known ones from triage.toml, new ones flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.reference.fidelity import proposed_deviations
from conformance.reference.triage import is_echo, load_rules, triage, write_triage
from contract.deviations import Deviations

RULES = """
[[failure]]
operation = "getTool*"
check = "status_code_conformance"
message = "500"
verdict = "spec error"
fix = "document the 500"
"""


def outcome(status: str, operation: str, check: str, message: str = "", http: int | None = None) -> dict[str, object]:
    return {
        "status": status,
        "operation": operation,
        "check": check,
        "message": message,
        "exchange": {"status": http, "curl": "curl -X GET x", "response_body": "{}"} if http else None,
    }


def results() -> dict[str, object]:
    return {
        "target": "http://127.0.0.1:1",
        "run_id": "r1",
        "counts": {"pass": 1, "fail": 2, "deviation": 1, "skip": 0},
        "outcomes": [
            outcome("pass", "ping", "x"),
            outcome("fail", "getToolById", "status_code_conformance", "got 500", 500),
            outcome("fail", "createLead", "content_type_conformance", "text/html", 200),
            {**outcome("deviation", "deleteTool", "x"), "deviation": {"id": "delete-missing-200"}},
        ],
    }


def test_the_packaged_rules_load() -> None:
    for rule in load_rules():
        assert rule.verdict in {"suite bug", "spec error", "real deviation", "harness", "untriaged"}


def test_known_failures_get_their_verdict_and_new_ones_are_untriaged() -> None:
    triaged = triage(results(), load_rules(RULES))
    assert [(t.outcome["operation"], t.verdict) for t in triaged] == [
        ("getToolById", "spec error"),
        ("createLead", "untriaged"),
    ]


def test_unknown_verdicts_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown verdict"):
        load_rules('[[failure]]\nverdict = "maybe"\nfix = "x"\n')


def test_triage_md_lists_failures_deviations_and_untriaged_exchanges(tmp_path: Path) -> None:
    source = tmp_path / "results.json"
    source.write_text(json.dumps({**results(), "notes": {"schemathesis": "4.32.5, seed 1234, 219 scenarios"}}))
    write_triage(source, tmp_path / "triage.md", load_rules(RULES))
    text = (tmp_path / "triage.md").read_text()
    assert "`--suite-args '--seed 1234'`" in text
    assert "| 1 | getToolById | status_code_conformance | got 500 (HTTP 500) | spec error | document the 500 |" in text
    assert "- `delete-missing-200`: 1 result(s)" in text
    assert "### createLead / content_type_conformance" in text


def test_a_missing_results_file_is_said_plainly(tmp_path: Path) -> None:
    assert write_triage(tmp_path / "nope.json", tmp_path / "triage.md") == []
    assert "did not run to its report" in (tmp_path / "triage.md").read_text()


def test_a_failure_fitting_a_proposed_deviation_is_a_real_deviation() -> None:
    failed = outcome("fail", "createTool", "not_a_server_error", "Server error:", 500)
    failed["exchange"] = {
        "method": "POST",
        "url": "http://127.0.0.1:1/api/v1/tools",
        "status": 500,
        "response_headers": {"content-type": "application/json"},
        "response_body": '{"statusCode":500,"success":false,"message":"Error: toolsService.createTool - '
        'SQLITE_CONSTRAINT: NOT NULL constraint failed: tool.name","stack":{}}',
    }
    proposed = Deviations.from_toml(
        '[[deviation]]\nid = "client-error-500"\nreference = "r"\nsummary = "s"\n\n'
        "[[deviation.match]]\nstatus = [500]\nmessage = 'SQLITE_CONSTRAINT: NOT NULL constraint failed'\n",
        source="proposed",
    )
    [item] = triage({"outcomes": [failed]}, [], proposed)
    assert item.verdict == "real deviation"
    assert "`client-error-500`" in item.fix


def test_packaged_rules_come_before_proposed_deviations() -> None:
    failed = outcome("fail", "createVariable", "not_a_server_error", "Server error:", 500)
    failed["exchange"]["response_body"] = (
        '{"statusCode":500,"success":false,"message":"Error: variablesServices.createVariable - '
        'SQLITE_CONSTRAINT: NOT NULL constraint failed: variable.value","stack":{}}'
    )
    [item] = triage({"outcomes": [failed]}, load_rules(), proposed_deviations())
    assert item.verdict == "spec error"


SCHEMA_MESSAGE = "Response violates schema: x\n\nSchema at /components/schemas/Tool/properties/{field}:\n\n    {{}}\n\nValue:\n\n    {value}"


@pytest.mark.parametrize(
    "field, value, request_body, response_body, echoed",
    [
        ("name", "0.5 (2 distinct failures)", '{"name": 0.5}', '{"name": 0.5}', True),
        ("name", "{\n // Output truncated...", '{"name": {"a": 1, "b": [true]}}', '{"name": {"b": [true], "a": 1.0}}', True),
        ("value", "true", '{"value": true}', '{"value": true}', True),
        ("value", "true", '{"value": 1}', '{"value": true}', False),
        ("name", "5", '{"name": "sent"}', '{"name": 5}', False),
    ],
)
def test_echo_means_the_response_returned_what_the_request_sent(
    field: str, value: str, request_body: str, response_body: str, echoed: bool
) -> None:
    message = SCHEMA_MESSAGE.format(field=field, value=value)
    assert is_echo(message, request_body, response_body) is echoed


def test_echo_without_a_schema_path_looks_for_the_value_in_the_request() -> None:
    assert is_echo("Value:\n\n    [1, 2]", '{"tags": {"x": [1, 2]}}')
    assert not is_echo("Value:\n\n    [1, 3]", '{"tags": {"x": [1, 2]}}')
    assert not is_echo("no value here", "{}")
