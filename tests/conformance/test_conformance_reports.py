"""Report writers, from a small fixture of outcomes: JUnit, JSON and HTML say the same thing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.exchange import Exchange
from conformance.outcomes import DeviationRef, Outcome, RunReport, Status
from conformance.reports import render_html, render_json, render_junit, write_all

FAILING = Exchange.build(
    method="GET",
    url="http://flowise:3000/api/v1/tools/abc",
    request_headers={"Authorization": "Bearer sk-secret-key"},
    status=200,
    response_headers={"Content-Type": "application/json"},
    response_body="{}",
)


def fixture_report(*, strict: bool = False) -> RunReport:
    return RunReport(
        target="http://flowise:3000",
        run_id="20260101-abc123",
        started="2026-01-01T00:00:00+0000",
        finished="2026-01-01T00:01:00+0000",
        strict=strict,
        capabilities={"streaming": True, "missing": {"retrieval": "no vector store"}},
        outcomes=[
            Outcome("schema", "getToolById", "status_code_conformance", Status.PASS, "12 responses"),
            Outcome("semantics", "getToolById", "unknown_id_is_404", Status.FAIL, "expected 404, got 200", exchange=FAILING),
            Outcome(
                "semantics",
                "deleteVariable",
                "unknown_id_is_404",
                Status.DEVIATION,
                "expected 404, got 200",
                deviation=DeviationRef("delete-missing-200", "Flowise#3221", "deletes answer 200"),
            ),
            Outcome("semantics", "vectorUpsert", "upsert_then_retrieve", Status.SKIP, "target cannot: retrieval"),
        ],
    )


def test_counts_and_verdict() -> None:
    report = fixture_report()
    assert report.counts() == {"pass": 1, "fail": 1, "deviation": 1, "skip": 1, "proxy": 0}
    assert not report.ok and len(report.failed) == 1
    assert len(fixture_report(strict=True).failed) == 2


def test_matrix_keeps_the_worst_status() -> None:
    report = fixture_report()
    report.outcomes.append(Outcome("schema", "getToolById", "unknown_id_is_404", Status.PASS))
    operations, checks, cells = report.matrix()
    assert operations == ["deleteVariable", "getToolById", "vectorUpsert"]
    assert cells[("getToolById", "unknown_id_is_404")] is Status.FAIL
    assert "status_code_conformance" in checks


@pytest.mark.parametrize(("strict", "failures", "skipped"), [(False, 1, 2), (True, 2, 1)])
def test_junit(strict: bool, failures: int, skipped: int) -> None:
    root = ET.fromstring(render_junit(fixture_report(strict=strict)))
    assert root.get("tests") == "4"
    assert root.get("failures") == str(failures) and root.get("skipped") == str(skipped)
    cases = {case.get("name") + "@" + case.get("classname"): case for case in root.iter("testcase")}
    failure = cases["unknown_id_is_404@semantics.getToolById"].find("failure")
    assert failure is not None and "curl -sS -X GET" in (failure.text or "")
    deviation = cases["unknown_id_is_404@semantics.deleteVariable"]
    kind = "failure" if strict else "skipped"
    assert deviation.find(kind) is not None and deviation.find(kind).get("type") == "deviation"


def test_json_round_trip() -> None:
    data = json.loads(render_json(fixture_report()))
    assert data["ok"] is False and data["counts"]["deviation"] == 1
    failed = next(outcome for outcome in data["outcomes"] if outcome["status"] == "fail")
    assert failed["exchange"]["curl"].startswith("curl -sS -X GET")
    assert data["outcomes"][2]["deviation"]["id"] == "delete-missing-200"


def test_html_has_matrix_and_reproduction() -> None:
    html = render_html(fixture_report())
    assert "Flowise conformance: FAILED" in html
    assert "<table>" in html and "getToolById" in html and "unknown_id_is_404" in html
    assert "curl -sS -X GET" in html and "HTTP 200" in html
    assert "delete-missing-200" in html and "target cannot: retrieval" in html


def test_secrets_never_reach_a_report(tmp_path: Path) -> None:
    paths = write_all(fixture_report(), tmp_path, junit=tmp_path / "ci" / "junit.xml")
    assert paths["junit"] == tmp_path / "ci" / "junit.xml"
    for path in paths.values():
        text = path.read_text()
        assert "sk-secret-key" not in text
        assert "Bearer &lt;redacted&gt;" in text or "Bearer <redacted>" in text
