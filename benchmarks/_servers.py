"""Servers the benchmarks start: the real mock, or the stub (whose `/bare/json` is the bare baseline).

Both start through `load.target.EmbeddedMock`, i.e. exactly as `flowise-load` starts its embedded
mock, on loopback free ports, and are stopped by PID. The stub runs uvicorn with the mock's settings
(one process, `log_level="warning"`, no access log), so a req/s ratio compares application code only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from load.target import EmbeddedMock, MockTiming

ROOT = Path(__file__).resolve().parent.parent
STUB_PROGRAM = f"{sys.executable} {ROOT / 'tests' / 'load' / 'stub_server.py'}"


def server(kind: str, timing: MockTiming, *, extra_args: tuple[str, ...] = ()) -> EmbeddedMock:
    """An unstarted mock (`kind="mock"`) or stub (`kind="stub"`) with this timing."""
    program = STUB_PROGRAM if kind == "stub" else None
    return EmbeddedMock(timing=timing, program=program, extra_args=extra_args)


def create_chatflow(base_url: str, name: str) -> str:
    body = {"name": name, "type": "CHATFLOW", "flowData": json.dumps({"nodes": [], "edges": []})}
    response = httpx.post(f"{base_url}/api/v1/chatflows", json=body, timeout=10)
    response.raise_for_status()
    return str(response.json()["id"])


def loadgen(url: str, *, method: str = "GET", body: str | None = None, concurrency: int = 32,
            duration_s: float = 10.0) -> dict:
    command = [sys.executable, "-m", "benchmarks._loadgen", url, "--method", method, "--concurrency",
               str(concurrency), "--duration", str(duration_s)]
    if body is not None:
        command += ["--body", body]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=duration_s + 120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def flowise_load(base_url: str, chatflow_id: str, report_dir: Path, *args: str) -> dict:
    """Run `flowise-load` as an operator would and return its summary.json."""
    command = [sys.executable, "-m", "load", base_url, "--chatflow-id", chatflow_id, "--report-dir",
               str(report_dir), "--progress-interval", "0", *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    summary_path = report_dir / "summary.json"
    if not summary_path.exists():
        raise RuntimeError(f"flowise-load exited {done.returncode} without a summary:\n{done.stderr[-3000:]}")
    return json.loads(summary_path.read_text())
