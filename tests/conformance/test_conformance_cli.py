"""`flowise-conformance`: one line and a distinct exit code when the run cannot judge the target."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakeflowise import API_KEY, serving

from conformance.cli import build_parser, main
from conformance.embedded import free_port
from conformance.exitcodes import ExitCode


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env
    )


def test_help_documents_exit_codes_and_environment() -> None:
    text = build_parser().format_help()
    for code in ExitCode:
        assert f"  {int(code):>3}  " in text
    assert "FLOWISE_URL" in text and "FLOWISE_API_KEY" in text and "--read-only" in text


def test_unreachable_target(tmp_path: Path) -> None:
    result = run_cli(f"http://127.0.0.1:{free_port()}", "--report-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == ExitCode.UNREACHABLE
    assert result.stderr.count("\n") == 1 and "cannot connect" in result.stderr
    assert "test session starts" not in result.stdout


def test_rejected_key(tmp_path: Path) -> None:
    with serving() as url:
        result = run_cli(url, "--api-key", "wrong", "--report-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == ExitCode.KEY_REJECTED, result.stderr
    assert "401" in result.stderr and result.stderr.count("\n") == 1


def test_unloadable_spec(tmp_path: Path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("openapi: 3.1.0\npaths: [unclosed\n")
    with serving() as url:
        result = run_cli(url, "--api-key", API_KEY, "--spec", str(spec), "--report-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == ExitCode.SPEC_ERROR and "not valid YAML" in result.stderr


def test_bad_flag_value(tmp_path: Path) -> None:
    result = run_cli("http://127.0.0.1:1", "--timeout", "0", cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE and "timeout" in result.stderr


def test_not_flowise(tmp_path: Path) -> None:
    with serving() as url:
        result = run_cli(url + "/nothing-here", "--report-dir", str(tmp_path), cwd=tmp_path)
    assert result.returncode == ExitCode.UNREACHABLE and "ping" in result.stderr


@pytest.mark.parametrize("argv", [["--help"]])
def test_help_exits_cleanly(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0 and "exit codes:" in capsys.readouterr().out


def test_unknown_only_tag(tmp_path: Path) -> None:
    with serving() as url:
        result = run_cli(url, "--api-key", API_KEY, "--only", "chatflows,nonsense", cwd=tmp_path)
    assert result.returncode == ExitCode.USAGE and "nonsense" in result.stderr


def test_a_key_beginning_with_a_dash_is_a_key(tmp_path: Path) -> None:
    """Flowise keys are random URL-safe base64: about one in 64 begins with "-". Given as `--api-key KEY`,
    or through the environment, it must reach the target as the key, not be read as an option."""
    from conformance.embedded import EmbeddedMock

    key = "-k3y-that-starts-with-a-dash"
    with EmbeddedMock(env=dict(os.environ), api_key=key) as mock:
        result = run_cli(mock.base_url, "--api-key", key, "--only", "variables", "--report-dir", str(tmp_path),
                         cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "error: argument" not in result.stderr


def test_attach_values_joins_only_the_named_options() -> None:
    from contract.argv import attach_values

    assert attach_values(["URL", "--api-key", "-abc", "--only", "tools"], ["--api-key"]) == [
        "URL", "--api-key=-abc", "--only", "tools"]
    assert attach_values(["--api-key=-abc"], ["--api-key"]) == ["--api-key=-abc"]
    assert attach_values(["--api-key"], ["--api-key"]) == ["--api-key"]  # argparse then says the value is missing
    assert attach_values(["--", "--api-key", "x"], ["--api-key"]) == ["--", "--api-key", "x"]
