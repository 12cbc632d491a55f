"""Report writers over `RunReport` records; none of them imports pytest, schemathesis or argparse."""

from __future__ import annotations

from pathlib import Path

from conformance.outcomes import RunReport
from conformance.reports.html import render_html, write_html
from conformance.reports.json import render_json, write_json
from conformance.reports.junit import render_junit, write_junit

__all__ = ["render_html", "render_json", "render_junit", "write_all", "write_html", "write_json", "write_junit"]


def write_all(report: RunReport, directory: Path, *, junit: Path | None = None) -> dict[str, Path]:
    """Write JUnit, JSON and HTML into `directory` (JUnit to `junit` when given)."""
    directory.mkdir(parents=True, exist_ok=True)
    return {
        "junit": write_junit(report, junit or directory / "junit.xml"),
        "json": write_json(report, directory / "results.json"),
        "html": write_html(report, directory / "report.html"),
    }
