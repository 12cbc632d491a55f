"""`python -m benchmarks.throughput` runs end to end and prints a well-formed table.

A very short run (1 s per row, no instruction counts), with wrk when it is installed and with the
Python fallback forced by its flag. Speeds are not asserted: they are the benchmark's printed figures,
and depend on the machine; what is checked is that every row is there, measured, with no error.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROWS = ["bare Starlette GET /bare/json", "FastAPI floor GET /rows/{id}", "mock GET /chatflows/{id}",
        "mock POST /prediction (:memory:)", "mock POST /prediction (file db)",
        "mock GET /chatflows/{id} (2 workers)", "mock POST /prediction (2 workers)"]
ROW = re.compile(r"^(?P<name>.+?)\s+(?P<rps>\d+)\s+(?P<ratio>\d+\.\d\d)\s+(?P<p50>\d+\.\d\d)\s+(?P<p99>\d+\.\d\d)\s+"
                 r"(?P<errors>\d+)\s+(?P<gen>\d+)%\s+(?P<srv>\d+)%\s+(?P<srv_us>\d+)\s+(?P<instr>-|\d+k)$")

pytestmark = pytest.mark.slow


def run_benchmark(*flags: str) -> str:
    done = subprocess.run([sys.executable, "-m", "benchmarks.throughput", "--seconds", "1", "--warmup", "0",
                           "--connections", "8", "--no-callgrind", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def table(output: str) -> dict[str, dict[str, str]]:
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("endpoint"))
    assert set(lines[header + 1]) == {"-"}
    rows = {}
    for line in lines[header + 2:]:
        if not line.strip():
            break
        match = ROW.match(line)
        assert match, f"malformed row: {line!r}"
        rows[match["name"]] = match.groupdict()
    return rows


def check(output: str, generator: str) -> None:
    assert re.search(rf"^generator: .*{generator}", output, re.M), output
    rows = table(output)
    assert list(rows) == ROWS
    assert rows[ROWS[0]]["ratio"] == "1.00"
    for row in rows.values():
        assert int(row["rps"]) > 0 and row["errors"] == "0" and row["instr"] == "-", row
    assert re.search(r"^mock GET /chatflows/\{id\}: \d+\.\d\dx bare \(target >= 0\.5x\)", output, re.M)
    assert re.search(r"^mock POST /prediction \(file db\): \d+\.\d\dx bare \(target >= 0\.25x\)", output, re.M)
    assert "instr/req: not counted (--no-callgrind)" in output
    assert re.search(r"^mock GET /chatflows/\{id\}: \d+\.\d\dx the FastAPI floor", output, re.M)
    assert re.search(r"^mock POST /prediction \(2 workers\): \d+\.\d\dx the one-process row", output, re.M)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (apt-get install -y wrk)")
def test_throughput_with_wrk() -> None:
    check(run_benchmark("--generator", "wrk"), "wrk")


def test_throughput_python_fallback_forced() -> None:
    output = run_benchmark("--generator", "python")
    check(output, "python gevent generator")
    assert "forced by --generator python" in output


def test_inprocess_run_answers_every_request() -> None:
    """The in-process run callgrind counts over: every request of each kind is a 200."""
    for kind in ("bare", "floor", "mock-get", "mock-prediction"):
        done = subprocess.run([sys.executable, "-m", "benchmarks._inprocess", kind, "--requests", "3"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert '"statuses": {"200": ' in done.stdout


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (apt-get install -y valgrind)")
def test_callgrind_counts_the_requests(tmp_path: Path) -> None:
    from benchmarks.throughput import callgrind_instructions

    valgrind = shutil.which("valgrind")
    assert valgrind is not None
    none = callgrind_instructions(valgrind, "bare", 0, ":memory:", tmp_path)
    some = callgrind_instructions(valgrind, "bare", 20, ":memory:", tmp_path)
    assert 0 < none < some
