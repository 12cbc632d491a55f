"""The command's edges: flags, the cached-install path, run.json, and a clean failure when Flowise cannot start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.reference import cli, run
from conformance.reference.install import FLOWISE_VERSION, Installation


def fake_install(root: Path, *, node: str = "#!/bin/sh\necho v24.9.9\n") -> Installation:
    install = Installation(root.resolve())
    for path, text in {install.node: node, install.flowise_run: "run", install.shim: "// shim"}.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    install.node.chmod(0o755)
    install.marker.write_text(json.dumps({"flowise": FLOWISE_VERSION, "node": "v24.9.9"}))
    return install


def test_install_only_reuses_the_cache_and_records_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_install(tmp_path / "cache")
    code = cli.main(["--install-only", "--cache-dir", str(tmp_path / "cache"), "--report-dir", str(tmp_path / "out")])
    assert code == 0
    recorded = json.loads((tmp_path / "out" / "run.json").read_text())
    assert recorded["facts"]["install"]["flowise"] == FLOWISE_VERSION
    assert "install" in recorded["seconds"] and "total" in recorded["seconds"]
    assert "reusing" in capsys.readouterr().out


def test_a_flowise_that_cannot_start_ends_the_run_with_code_4_and_nothing_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_install(tmp_path / "cache", node="#!/bin/sh\necho 'Starting Flowise...'; echo 'boom: cannot start' >&2; exit 1\n")
    monkeypatch.setattr(run, "_start_llm", lambda group, logs, measure: "http://127.0.0.1:9/v1")
    made: list[Path] = []
    real_mkdtemp = run.tempfile.mkdtemp

    def recording_mkdtemp(**kwargs: object) -> str:
        path = real_mkdtemp(dir=tmp_path, **kwargs)  # type: ignore[arg-type]
        made.append(Path(path))
        return path

    monkeypatch.setattr(run.tempfile, "mkdtemp", recording_mkdtemp)
    lines: list[str] = []
    options = run.RunOptions(cache_dir=tmp_path / "cache", report_dir=tmp_path / "out", suite=False, fidelity=False)
    assert run.run_reference(options, log=lines.append) == run.EXIT_SERVER
    assert any("flowise exited" in line and "boom: cannot start" in line for line in lines)
    assert made and not made[0].exists(), "the temporary data folder is removed"
    assert "flowise start" in json.loads((tmp_path / "out" / "run.json").read_text())["seconds"]


def test_flags_become_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[run.RunOptions] = []
    monkeypatch.setattr(run, "run_reference", lambda options: seen.append(options) or 0)
    monkeypatch.setenv("FLOWISE_REFERENCE_CACHE", str(tmp_path / "env-cache"))
    cli.main(["--no-suite", "--suite-args", "--examples 5 --timeout 30", "--llm-url", "http://127.0.0.1:1/v1"])
    [options] = seen
    assert options.cache_dir == tmp_path / "env-cache"
    assert options.suite is False and options.fidelity is True
    assert options.suite_args == ["--examples", "5", "--timeout", "30"]
    assert options.llm_url == "http://127.0.0.1:1/v1"


def test_the_suite_runs_with_a_full_a_scoped_and_a_view_only_key() -> None:
    """Beside the full-permission run: a team's scoped key, and a view-only key in --read-only."""
    from conformance.reference.bootstrap import (
        FULL_PERMISSIONS,
        SCOPED_PERMISSIONS,
        Admin,
        ApiKey,
        Bootstrapped,
    )

    keys = Bootstrapped(Admin(), ApiKey("1", "full", "k-full"), ApiKey("2", "view", "k-view"))
    runs = run.suite_runs(keys, "k-scoped")
    assert [(r.label, r.api_key, r.folder, r.extra, r.chatflows) for r in runs] == [
        ("full", "k-full", "conformance", (), True),
        ("scoped", "k-scoped", "conformance-scoped", (), True),
        ("view-only-read-only", "k-view", "conformance-view-read-only", ("--read-only",), False),
    ]
    assert runs[0].triage_name == "triage.md" and runs[1].log_name == "suite-scoped.log"
    assert set(SCOPED_PERMISSIONS) < set(FULL_PERMISSIONS)
    assert not [p for p in SCOPED_PERMISSIONS if p.startswith(("credentials:", "apikeys:", "evaluations:"))]
