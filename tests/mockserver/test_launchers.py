"""The embedded mocks of flowise-conformance and flowise-load: one launcher, each tool's own error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from conformance.embedded import EmbeddedMock as ConformanceMock
from conformance.errors import MockStartError
from load.errors import TargetUnusable
from load.target import EmbeddedMock as LoadMock
from load.target import MockTiming


def test_a_mock_that_cannot_start_is_a_conformance_error_with_its_log_and_leaves_no_folder(tmp_path: Path) -> None:
    mock = ConformanceMock(env=dict(os.environ), extra_args=("--quirks", "no-such-set"), log_path=tmp_path / "mock.log")
    with pytest.raises(MockStartError, match="(?s)exited \\(code 2\\).*invalid choice: 'no-such-set'"):
        mock.start()
    assert not mock.workdir.exists()


def test_a_command_that_cannot_start_is_one_load_error_naming_it() -> None:
    mock = LoadMock(program=f"{sys.executable} -c 'import sys; print(\"no port for you\"); sys.exit(3)'")
    with pytest.raises(TargetUnusable, match="(?s)exited \\(code 3\\).*no port for you.*command: "):
        mock.start(timeout_s=20)


def test_the_load_mock_is_configured_by_its_flags_not_the_callers_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stray MOCK_/FLOWISE_ variable in the operator's shell must not change what the load run measures."""
    monkeypatch.setenv("MOCK_QUIRKS", "flowise-3.1")  # would answer unknown routes with the UI's HTML
    with LoadMock(timing=MockTiming(ttft_ms=0, itl_ms=0, answer_tokens=7)) as mock:
        unknown = httpx.get(f"{mock.base_url}/api/v1/no-such-route", timeout=10)
        assert unknown.status_code == 404 and unknown.json()["message"] == "Cannot GET /api/v1/no-such-route"
        process = mock.process
        assert process is not None and process.running()
    assert not process.running()
