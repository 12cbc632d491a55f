"""Rows, deviation confirmation and the written report, from hand-made results (no server)."""

from __future__ import annotations

import json
from pathlib import Path

from conformance.reference.exchanges import ExchangeResult, Step
from conformance.reference.fidelity import Column, compare_targets, confirm_deviations, reference_catalogue
from conformance.reference.fidelity_report import render_markdown, write_fidelity

STEPS = [
    Step("ping", "system", "pingServer", "GET", "/ping", auth="none"),
    Step("tool: get missing", "tool", "getToolById", "GET", "/tools/$missing", deviations=("missing-id-500",)),
]
MISSING = '{"statusCode":500,"success":false,"message":"Error: toolsService.getToolById - Tool 0 not found","stack":{}}'
CONTRACT = '{"statusCode":404,"success":false,"message":"Tool 0 not found","stack":{}}'


def res(step: Step, status: int, body: str, content_type: str = "application/json; charset=utf-8") -> ExchangeResult:
    return ExchangeResult(step.name, step.family, step.operation, step.method, "/api/v1" + step.path, status=status,
                          headers={"content-type": content_type}, body=body)


def columns() -> tuple[Column, Column, Column]:
    real = [res(STEPS[0], 200, "pong", "text/html"), res(STEPS[1], 500, MISSING)]
    quirks = [res(STEPS[0], 200, "pong", "text/html"), res(STEPS[1], 500, MISSING)]
    plain = [res(STEPS[0], 200, "pong", "text/html"), res(STEPS[1], 404, CONTRACT)]
    return Column("real", real, False), Column("quirks", quirks, True), Column("plain", plain, False)


def test_the_catalogue_confirms_a_deviation_shown_by_the_real_answer() -> None:
    catalogue = reference_catalogue()
    assert confirm_deviations(STEPS[1], res(STEPS[1], 500, MISSING), catalogue) == ("missing-id-500",)
    assert confirm_deviations(STEPS[1], res(STEPS[1], 404, CONTRACT), catalogue) == ()
    assert confirm_deviations(STEPS[0], res(STEPS[0], 200, "pong"), catalogue) == ()


def test_quirks_agree_and_the_plain_mock_differs_only_where_documented() -> None:
    real, quirks, plain = columns()
    fidelity = compare_targets(STEPS, real, [quirks, plain])
    assert fidelity.counts("quirks") == {"agree": 2, "documented": 0, "differ": 0}
    assert fidelity.counts("plain") == {"agree": 1, "documented": 1, "differ": 0}
    assert fidelity.ok()
    assert fidelity.deviation_status() == {"missing-id-500": {"confirmed": ["tool: get missing"], "refuted": []}}


def test_a_refuted_deviation_makes_the_row_differ() -> None:
    real, quirks, plain = columns()
    real = Column("real", [real.results[0], res(STEPS[1], 404, CONTRACT)], False)
    fidelity = compare_targets(STEPS, real, [quirks, plain])
    assert fidelity.counts("quirks")["differ"] == 1
    assert fidelity.counts("plain") == {"agree": 2, "documented": 0, "differ": 0}
    assert fidelity.deviation_status()["missing-id-500"]["refuted"] == ["tool: get missing"]
    assert not fidelity.ok()


def test_report_has_one_row_per_exchange_and_the_raw_results(tmp_path: Path) -> None:
    real, quirks, plain = columns()
    fidelity = compare_targets(STEPS, real, [quirks, plain])
    paths = write_fidelity(fidelity, tmp_path)
    markdown = paths["markdown"].read_text()
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(STEPS)
    assert "documented (missing-id-500): status: 500 vs 404" in markdown
    assert "plain: 1 agree, 1 documented, 0 differ (goal: only documented deviations differ: met)" in markdown
    html = paths["html"].read_text()
    assert html.count("<tr><td>") == len(STEPS) + 1  # the exchange rows + the deviation row
    raw = json.loads(paths["json"].read_text())
    assert [row["step"] for row in raw["rows"]] == [step.name for step in STEPS]
    assert raw["rows"][1]["confirmed"] == ["missing-id-500"]


def test_previews_in_the_report_hide_ids() -> None:
    step = STEPS[0]
    body = '{"id":"8b460848-5eb0-4de2-8e3b-ae9edf7d1d0f"}'
    real = Column("real", [res(step, 200, body)], False)
    mock = Column("mock", [res(step, 200, body)], False)
    fidelity = compare_targets([step], real, [mock])
    assert "8b460848" not in render_markdown(fidelity)
    assert fidelity.rows[0].normalised["real"].preview == '{"id":"<uuid>"}'
