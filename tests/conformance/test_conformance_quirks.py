"""Against `flowise-mock --quirks flowise-3.1` (the real server's known defects, reproduced), the
suite reports each defect as a known deviation with its upstream reference: the run passes, and
fails only with --strict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.embedded import EmbeddedMock
from conformance.exitcodes import ExitCode

EXPECTED = {
    "missing-id-500",
    "flow-key-500",
    "delete-missing-200",
    "stream-error-hang",
    "unknown-route-html",
    "missing-question-accepted",
    "leads-get-workspace-404",
}


@pytest.mark.slow
@pytest.mark.parametrize(("strict", "code"), [(False, ExitCode.OK), (True, ExitCode.FAILED)])
def test_known_deviations_are_recognised(strict: bool, code: ExitCode, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    with EmbeddedMock(env=env, extra_args=("--quirks", "flowise-3.1"), log_path=tmp_path / "mock.log") as mock:
        command = [sys.executable, "-m", "conformance.cli", mock.base_url, "--api-key", mock.api_key, "--layer", "semantics"]
        command += ["--timeout", "3", "--report-dir", str(tmp_path), *(["--strict"] if strict else [])]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    results = json.loads((tmp_path / "results.json").read_text())
    found = {outcome["deviation"]["id"] for outcome in results["outcomes"] if outcome["deviation"]}
    assert EXPECTED <= found, (found, completed.stdout[-3000:])
    assert completed.returncode == code, completed.stdout[-3000:]
    assert results["notes"].get("cleanup", "").endswith(" 0 not deleted")
