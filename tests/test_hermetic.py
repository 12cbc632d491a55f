"""The developer's environment changes no outcome: tests/conftest.py drops the variables that configure the
mock, the suite, schemathesis and locust before any test runs.

The proof runs tests that do fail when such a variable reaches them (each one below was seen failing under
the value given) in a pytest subprocess whose environment holds all of those values, and asks that they pass.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver import MockSettings

TESTS = Path(__file__).resolve().parent

HOSTILE = {
    "MOCK_QUIRKS": "flowise-3.1",
    "FLOWISE_FILE_SIZE_LIMIT": "1kb",
    "MOCK_NO_AUTH": "true",
    "MOCK_ANSWER_TOKENS": "1",
    "CORS_ORIGINS": "https://evil.example",
    "SCHEMATHESIS_HOOKS": "no.such.module",
    "PORT": "1",
}

# Each of these failed with the variable beside it set, before tests/conftest.py made the run hermetic.
AFFECTED = [
    "mockserver/test_pipeline.py::test_unknown_routes_and_methods",  # MOCK_QUIRKS, MOCK_NO_AUTH
    "mockserver/test_quirks.py::test_unknown_ids_answer_404_or_the_wrapped_500",  # MOCK_QUIRKS
    "mockserver/test_pipeline.py::test_absurdly_nested_json_is_a_400_not_a_crash",  # FLOWISE_FILE_SIZE_LIMIT
    "mockserver/test_pipeline.py::test_gate_refuses_missing_wrong_and_wrong_case",  # MOCK_NO_AUTH
    "mockserver/test_pipeline.py::test_cors_preflight_is_answered",  # CORS_ORIGINS
    "mockserver/test_prediction.py::test_override_config_is_gated_by_api_config",  # FILE_SIZE_LIMIT, ANSWER_TOKENS
    "spec/test_spec.py::test_schemathesis_loads_the_spec",  # SCHEMATHESIS_HOOKS
    "conformance/test_conformance_stream_schema.py::test_valid_events_pass",  # SCHEMATHESIS_HOOKS
]


def test_no_configuring_variable_reaches_a_test() -> None:
    assert [name for name in HOSTILE if name in os.environ] == []


def test_nor_a_process_a_test_starts() -> None:
    code = "import json, os; print(json.dumps(sorted(os.environ)))"
    names = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                                      check=True).stdout)
    assert [name for name in HOSTILE if name in names] == []


def test_those_variables_would_configure_the_mock(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the conftest guards against: MockSettings does read them (so the run below can fail)."""
    for name, value in HOSTILE.items():
        monkeypatch.setenv(name, value)
    settings = MockSettings(db=":memory:")
    assert settings.quirks == "flowise-3.1" and settings.file_size_limit == 1024 and settings.no_auth
    assert settings.answer_tokens == 1 and settings.cors_origins == "https://evil.example" and settings.port == 1


@pytest.mark.slow  # a pytest run of its own
def test_a_hostile_environment_changes_no_outcome(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    env.update(HOSTILE)
    own = [f"{TESTS.name}/test_hermetic.py::{name}" for name in
           ("test_no_configuring_variable_reaches_a_test", "test_nor_a_process_a_test_starts")]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0",
         *own, *(f"{TESTS.name}/{test}" for test in AFFECTED)],
        capture_output=True, text=True, timeout=600, env=env, cwd=TESTS.parent)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert f"{len(AFFECTED) + len(own)} passed" in run.stdout, run.stdout[-4000:]
    assert "hermetic: ignoring " + ", ".join(sorted(HOSTILE)) in run.stdout
