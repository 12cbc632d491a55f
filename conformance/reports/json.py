"""The machine-readable result file: the whole `RunReport`, one JSON document.

Stable keys (`target`, `run_id`, `ok`, `counts`, `capabilities`, `outcomes[]` with `status` one of
pass | fail | deviation | skip) so a pipeline can gate on it without parsing JUnit.
"""

from __future__ import annotations

import json
from pathlib import Path

from conformance.outcomes import RunReport

__all__ = ["render_json", "write_json"]


def render_json(report: RunReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False, default=str)


def write_json(report: RunReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_json(report), encoding="utf-8")
    return path
