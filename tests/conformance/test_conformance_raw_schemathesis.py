"""schemathesis on its own, as the README tells a reimplementer to run it (the repository's
`schemathesis.toml` and `conformance.schemathesis_hooks`), passes against the mock: the spec as
published is usable without flowise-conformance's own plumbing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.embedded import EmbeddedMock

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_plain_schemathesis_run_passes_against_the_mock(tmp_path: Path) -> None:
    st = str(Path(sys.executable).parent / "st") if (Path(sys.executable).parent / "st").exists() else shutil.which("st")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "conformance.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    with EmbeddedMock(env=dict(os.environ), log_path=tmp_path / "mock.log") as mock:
        # Run from a scratch folder (schemathesis keeps a cache where it runs), naming the repository's config.
        result = subprocess.run(
            [st, "--config-file", str(ROOT / "schemathesis.toml"), "run", str(ROOT / "spec" / "flowise.openapi.yaml"),
             "--url", f"{mock.base_url}/api/v1",
             "-H", f"Authorization: Bearer {mock.api_key}", "--exclude-tag", "apikey",
             "--max-examples", "5", "--seed", "20261123", "--no-color"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )
    output = result.stdout + result.stderr
    assert "Configuration:" in output and "schemathesis.toml" in output, output[-2000:]
    assert result.returncode == 0, output[-6000:]
    assert "67 selected" not in output  # the apikey operations were left out
