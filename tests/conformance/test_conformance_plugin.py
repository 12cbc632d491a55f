"""The pytest11 plugin is inert unless `--flowise-url` is given: options and a marker, nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TRIVIAL = '''
import pytest

def test_plain():
    assert True

@pytest.mark.flowise(area="x")
def test_marked():
    assert True

def test_wants_a_target(flowise_client):
    raise AssertionError("never reached without --flowise-url")
'''


def pytest_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    env["FLOWISE_URL"] = "http://127.0.0.1:1"  # the environment alone must not switch the plugin on
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-c", os.devnull, "--rootdir", str(directory), "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=directory,
        env=env,
    )


def test_inert_without_url(tmp_path: Path) -> None:
    (tmp_path / "test_trivial.py").write_text(TRIVIAL)
    result = pytest_in(tmp_path, "-rs", "--strict-markers")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 1 skipped" in result.stdout
    assert "no --flowise-url given" in result.stdout
    assert "flowise conformance" not in result.stdout
    assert not (tmp_path / "reports").exists()


def test_options_are_listed(tmp_path: Path) -> None:
    result = pytest_in(tmp_path, "--help")
    for option in ("--flowise-url", "--flowise-api-key", "--flowise-read-only", "--flowise-strict", "--flowise-only"):
        assert option in result.stdout
