"""Run the conformance suite (as `pytest conformance ...`) in a subprocess and read its JSON result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import conformance

PACKAGE = Path(conformance.__file__).resolve().parent


@dataclass
class SuiteRun:
    returncode: int
    output: str
    results: dict[str, Any]

    def outcomes(self, status: str | None = None) -> list[dict[str, Any]]:
        return [o for o in self.results.get("outcomes", []) if status is None or o["status"] == status]

    def failed_checks(self) -> set[tuple[str, str]]:
        return {(o["operation"], o["check"]) for o in self.outcomes("fail")}


def run_suite(
    url: str,
    modules: list[str],
    report_dir: Path,
    *,
    api_key: str | None,
    extra: tuple[str, ...] | list[str] = (),
    pythonpath: Path | None = None,
) -> SuiteRun:
    """`modules` are paths relative to the conformance package, e.g. `semantics/test_crud.py::test_lifecycle`."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(str(PACKAGE / module) for module in modules),
        "-c",
        os.devnull,
        "--rootdir",
        str(PACKAGE),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "-q",
        f"--flowise-url={url}",
        f"--flowise-report-dir={report_dir}",
        "--flowise-timeout=5",
        *extra,
    ]
    if api_key:
        command.append(f"--flowise-api-key={api_key}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH", "")]))
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    results_path = report_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    return SuiteRun(completed.returncode, completed.stdout + completed.stderr, results)
