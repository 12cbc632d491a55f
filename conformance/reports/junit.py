"""JUnit XML for CI dashboards: one test case per outcome, one suite per layer.

JUnit knows pass, failure and skipped only. A known deviation is written as `skipped` with
type="deviation" and its upstream reference (it does not fail the run), or as a `failure` when the
run is strict; a plain skip carries its reason. Failure bodies hold the curl command and the
response, so the CI page alone is enough to reproduce.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from conformance.outcomes import Outcome, RunReport, Status

__all__ = ["render_junit", "write_junit"]


def _details(outcome: Outcome) -> str:
    lines = [outcome.message]
    if outcome.deviation is not None:
        lines.append(f"known deviation {outcome.deviation.id}: {outcome.deviation.reference}")
    if outcome.exchange is not None:
        lines += ["", "request:", outcome.exchange.curl, "", "response:", outcome.exchange.describe_response()]
    return "\n".join(lines)


def _testcase(parent: ET.Element, outcome: Outcome, *, strict: bool) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=f"{outcome.layer}.{outcome.operation}",
        name=outcome.check,
        time=f"{outcome.duration:.3f}",
    )
    if outcome.fails_run(strict=strict):
        kind = "deviation" if outcome.status is Status.DEVIATION else "violation"
        element = ET.SubElement(case, "failure", message=outcome.message[:500], type=kind)
        element.text = _details(outcome)
    elif outcome.status is Status.DEVIATION:
        assert outcome.deviation is not None
        message = f"known deviation {outcome.deviation.id} ({outcome.deviation.reference})"
        element = ET.SubElement(case, "skipped", message=message, type="deviation")
        element.text = _details(outcome)
    elif outcome.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=outcome.message[:500] or "skipped")
    elif outcome.status is Status.PROXY and outcome.deviation is not None:
        element = ET.SubElement(case, "skipped", message=f"the proxy's doing: {outcome.deviation.summary}"[:500],
                                type="proxy")
        element.text = _details(outcome)
    if outcome.source:
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", name="source", value=outcome.source)


def render_junit(report: RunReport) -> bytes:
    """The whole report as JUnit XML bytes."""
    root = ET.Element("testsuites", name=f"flowise-conformance {report.run_id}")
    by_layer: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in report.outcomes:
        by_layer[outcome.layer].append(outcome)
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for layer, outcomes in sorted(by_layer.items()):
        failures = sum(outcome.fails_run(strict=report.strict) for outcome in outcomes)
        skipped = sum(
            outcome.status in {Status.SKIP, Status.DEVIATION, Status.PROXY} and not outcome.fails_run(strict=report.strict)
            for outcome in outcomes
        )
        suite = ET.SubElement(
            root,
            "testsuite",
            name=layer,
            tests=str(len(outcomes)),
            failures=str(failures),
            errors="0",
            skipped=str(skipped),
            time=f"{sum(outcome.duration for outcome in outcomes):.3f}",
            timestamp=report.started,
            hostname=report.target,
        )
        for outcome in outcomes:
            _testcase(suite, outcome, strict=report.strict)
        totals["tests"] += len(outcomes)
        totals["failures"] += failures
        totals["skipped"] += skipped
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(report: RunReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render_junit(report))
    return path
