"""The installed surface: console scripts answer --help, and each package's public names are exactly its __all__."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("script", ["flowise-mock", "flowise-conformance", "flowise-load"])
def test_console_script_has_help(script: str) -> None:
    beside = Path(sys.executable).parent / script
    path = str(beside) if beside.exists() else shutil.which(script)
    assert path, f"{script} is not installed (pip install -e .)"
    result = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout.lower() and len(result.stdout) > 300


def test_mockserver_exports_only_the_app_factory_and_settings() -> None:
    module = importlib.import_module("mockserver")
    assert sorted(module.__all__) == ["MockSettings", "create_app"]
    assert module.create_app.__module__ == "mockserver.app" and module.MockSettings.__module__ == "mockserver.settings"
    public = {name for name in vars(module) if not name.startswith("_") and not isinstance(
        getattr(module, name), type(importlib)) and name != "annotations"}
    assert public == set(module.__all__)


def test_the_launcher_does_not_import_the_mock_app() -> None:
    """flowise-load imports the launcher in processes locust patches; the app (FastAPI, SQLite) stays out."""
    code = "import sys, mockserver.process; print(sorted(m for m in sys.modules if m in ('mockserver.app', 'fastapi')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_mock_refuses_an_unusable_spec(tmp_path) -> None:
    bad = tmp_path / "spec.yaml"
    bad.write_text("openapi: 3.1.0\npaths: {}\n")
    from mockserver import MockSettings, create_app
    from mockserver.spec import SpecError, load_spec

    with pytest.raises(SpecError, match="no paths"):
        create_app(MockSettings(db=":memory:", log_requests=False), spec=load_spec(bad))
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
