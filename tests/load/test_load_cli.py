"""`flowise-load` end to end, as a subprocess (locust gevent-patches whatever imports it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from load.target import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STUB = Path(__file__).resolve().with_name("stub_server.py")
REPORT_FILES = ("summary.json", "metrics.json", "index.html", "locust.html", "locust_stats.csv",
                "locust_stats_history.csv", "locust_failures.csv", "latency_percentiles.png",
                "ttft_distribution.png", "tokens_per_second.png")


def flowise_load(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("FLOWISE_LOAD_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "load", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_help(tmp_path: Path) -> None:
    result = flowise_load("--help", cwd=tmp_path)
    assert result.returncode == 0
    for word in ("--profile", "--workers", "--slo", "--report-dir", "smoke", "soak", "Exit codes"):
        assert word in result.stdout


def test_unreachable_target_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = flowise_load(url, "--chatflow-id", "x", "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert time.monotonic() - started < 15
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"flowise-load: cannot reach {url}: connection failed (")
    assert "Connection refused" in result.stderr
    assert not (tmp_path / "r").exists()  # no load, no report


def test_chatflow_that_cannot_answer_is_exit_3(tmp_path: Path, start_stub) -> None:
    url = start_stub()
    result = flowise_load(url, "--chatflow-id", "no-such-flow", "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.strip() == "flowise-load: chatflow no-such-flow cannot answer: HTTP 404: Chatflow no-such-flow not found"


def test_real_target_without_chatflow_or_key_is_a_usage_error(tmp_path: Path, start_stub) -> None:
    url = start_stub()
    result = flowise_load(url, "--report-dir", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no --chatflow-id given and no --api-key" in result.stderr


def test_bad_slo_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "slo.toml").write_text("[chat]\nmax_error_rate = 7\n")
    result = flowise_load("--slo", str(tmp_path / "slo.toml"), cwd=tmp_path)
    assert result.returncode == 2 and "max_error_rate" in result.stderr


@pytest.mark.slow
def test_short_run_against_the_stub_passes_and_writes_the_report(tmp_path: Path, start_stub) -> None:
    url = start_stub("--ttft-ms", "50", "--itl-ms", "10", "--answer-tokens", "8", "--api-key", "sekret")
    out = tmp_path / "report"
    result = flowise_load(url, "--profile", "smoke", "--users", "5", "--spawn-rate", "5", "--duration", "5s",
                          "--api-key", "sekret", "--report-dir", str(out), "--progress-interval", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in REPORT_FILES:
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    metrics = summary["metrics"]
    assert summary["slo"]["passed"] is True
    assert metrics["streams_ok"]["value"] > 0 and metrics["error_rate"]["value"] == 0
    assert 50 <= metrics["ttft"]["p50"] < 80
    assert 9 <= metrics["itl"]["p50"] < 13
    assert metrics["output_tokens"]["p50"] == 8
    assert metrics["rag_latency"]["count"] > 0 and metrics["prediction_latency"]["count"] > 0
    assert "last window: streams" in result.stderr  # live LLM progress
    assert "PASS  p99(ttft) <= 200" in result.stdout
    # The chatflow the run created for itself (and the management users' ones) are gone.
    flows = httpx.get(f"{url}/api/v1/chatflows", headers={"Authorization": "Bearer sekret"}).json()
    assert flows == []
    assert "sekret" not in (out / "summary.json").read_text() + (out / "metrics.json").read_text()


@pytest.mark.slow
def test_impossible_slo_on_the_embedded_mock_with_a_worker_exits_1(tmp_path: Path) -> None:
    (tmp_path / "slo.yaml").write_text("chat:\n  slo:\n    - {metric: ttft, stat: p99, max: 1}\n")
    out = tmp_path / "report"
    mock = f"{sys.executable} {STUB}"
    result = flowise_load("--profile", "chat", "--users", "3", "--duration", "4s", "--think-time", "0",
                          "--workers", "1", "--master-port", str(free_port()), "--slo", str(tmp_path / "slo.yaml"),
                          "--mock-command", mock, "--report-dir", str(out), cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "FAIL  p99(ttft) <= 1" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["slo"]["passed"] is False
    assert summary["run"]["embedded_mock"] is True and summary["run"]["workers"] == 1
    # Every sample was taken on the worker and travelled to the master.
    assert summary["metrics"]["streams_ok"]["value"] > 0
    assert (out / "worker-1.log").exists() and (out / "mock.log").exists()
    assert "FAILED" in (out / "index.html").read_text()


@pytest.mark.parametrize(("text", "seconds"), [("60s", 60), ("90", 90), ("5m", 300), ("1h30m", 5400), ("2m5s", 125)])
def test_durations(text: str, seconds: int) -> None:
    from load.cli import parse_duration

    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0s", "soon", "5x"])
def test_bad_durations(text: str) -> None:
    import argparse

    from load.cli import parse_duration

    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


@pytest.mark.slow
def test_the_smoke_run_of_tox_load_passes_on_the_embedded_mock(tmp_path: Path) -> None:
    """What `tox -e load` runs (the smoke profile against the embedded mock), shortened: CI's SLO gate."""
    out = tmp_path / "report"
    result = flowise_load("--profile", "smoke", "--duration", "8s", "--report-dir", str(out),
                          "--progress-interval", "0", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["embedded_mock"] is True
    assert summary["slo"]["passed"] is True
    metrics = summary["metrics"]
    assert metrics["streams_ok"]["value"] > 0 and metrics["error_rate"]["value"] == 0
    assert metrics["prediction_latency"]["count"] > 0 and metrics["rag_latency"]["count"] > 0
