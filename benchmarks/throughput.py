"""Req/s of the mock against a bare Starlette endpoint, measured with wrk, and instructions per request.

The Python load generator (`benchmarks._loadgen`, gevent) tops out near 11-12k req/s on a 2-core machine,
about half of what a bare Starlette endpoint answers, so against fast endpoints it measures itself.
This benchmark drives every server with wrk (C, one thread, 32 connections by default), which is not
the bottleneck; where wrk is not installed it says so and falls back to the Python generator, labelled
as such. Rows, each against a server started for it on a free loopback port and stopped by its PID:

- bare Starlette `GET /bare/json` (the stub's, on the mock's uvicorn settings): the baseline;
- the FastAPI floor (`benchmarks._floor`): an idiomatic FastAPI app with CORS whose one route reads a row
  by its id from SQLite and answers it as JSON: what the framework alone costs a parametrised route,
  before any of the mock's own work (the gate, validation, Flowise's shapes, the log and metrics);
- the mock (`--fast`, an API key, `:memory:`): `GET /api/v1/chatflows/{id}` with the key, and a stored
  JSON `POST /api/v1/prediction/{id}`;
- the mock on the default kind of database, a file (WAL, group commit: one fsync for the requests that
  wrote meanwhile), in a temporary folder: the same prediction;
- the mock with `--workers N` (default 2) on a file database: the GET and the prediction again, and
  their scaling over the one-process rows. On a machine with as many cores as workers, wrk and the
  workers share the cores, so the scaling there is a floor.

For each row: req/s, its ratio to bare in the same run, p50/p99 latency, and the CPU the generator and
the server used during the run (% of one core, from their kernel counters), so a reader sees which side
saturated: a server near 100 % is the limit; a generator near 100 % means the figure is the generator's;
neither near 100 % means the server waited (an fsync) or did not get the CPU (a shared machine). The
server's CPU time per request (`srv us/req`) is printed too: it holds when other work shares the cores.

Req/s move with whatever else the machine runs, so beside them this prints instructions per request,
counted by valgrind's callgrind over an in-process run (`benchmarks._inprocess`: N requests handed
straight to the ASGI app, no socket), minus a run with 0 requests (start-up and warm-up cancel out).
These count user-space instructions only: an fsync's wait is not in them, its cost shows in req/s.

Targets (figures to read, not a test): `GET /chatflows/{id}` >= 0.5x bare; the stored prediction on the
file database >= 0.25x bare.

    python -m benchmarks.throughput [--seconds 10] [--connections 32] [--generator auto|wrk|python]
                                    [--workers 2] [--callgrind-requests 300 | --no-callgrind]
                                    [--install-tools]

`--install-tools` installs wrk and valgrind with apt-get when they are missing (as `tox -e bench` does;
it needs root and Debian's packages); without them the benchmark still runs, and says what it lacks.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks._floor import ROW_ID as FLOOR_ROW
from benchmarks._inprocess import API_KEY, QUESTION
from contract.process import LOOPBACK, MOCK_PROGRAM, ManagedProcess, free_port, mock_env, start_server

ROOT = Path(__file__).resolve().parent.parent
STUB = ROOT / "tests" / "load" / "stub_server.py"
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_request.lua"
TOOLS = {"wrk": "wrk", "valgrind": "valgrind"}  # program: Debian package
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TARGETS = {"mock GET /chatflows/{id}": 0.5, "mock POST /prediction (file db)": 0.25}
#: The one-process row each `--workers` row is compared with.
SINGLE_PROCESS_ROW = {"mock GET /chatflows/{id}": "mock GET /chatflows/{id}",
                      "mock POST /prediction": "mock POST /prediction (file db)"}
PYTHON_GENERATOR = "python gevent generator (benchmarks._loadgen)"


@dataclass
class Request:
    name: str
    path: str
    method: str = "GET"
    body: str | None = None
    key: str | None = None
    #: in-process kind and database for the instruction count (None: not counted)
    inprocess: tuple[str, str] | None = None


@dataclass
class Row:
    name: str
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int
    generator_cpu: float
    server_cpu: float
    instructions: float | None = None


# ---------------------------------------------------------------- tools


def install_tools(missing: list[str]) -> None:
    """apt-get the missing tools (root on a Debian-like system only); say what happened either way."""
    if not missing:
        return
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        print(f"cannot install {', '.join(missing)}: needs root and apt-get (install them by hand: "
              f"apt-get install -y {' '.join(TOOLS[m] for m in missing)})")
        return
    packages = [TOOLS[m] for m in missing]
    print(f"installing {', '.join(packages)} with apt-get ...", flush=True)
    for attempt in ([apt, "install", "-y", *packages], [apt, "update"], [apt, "install", "-y", *packages]):
        done = subprocess.run(attempt, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if attempt[1] == "install" and done.returncode == 0:
            return
    print(f"apt-get could not install {', '.join(packages)}:\n{done.stderr[-1500:]}")


def wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


# ---------------------------------------------------------------- servers


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process and its live descendants (all their threads: a `--workers`
    mock is a supervisor and its workers), from /proc/<pid>/stat."""
    stats: dict[int, tuple[int, float]] = {}  # pid: (parent, CPU seconds)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                text = (entry / "stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2:].split()
            # ppid, utime, stime: fields 4, 14 and 15 of stat
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    children: dict[int, list[int]] = {}
    for child, (parent, _) in stats.items():
        children.setdefault(parent, []).append(child)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo.extend(children.get(current, ()))
    return total


@contextmanager
def floor_server(folder: Path) -> Iterator[ManagedProcess]:
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks._floor", "--host", LOOPBACK, "--port", str(port)]
    with start_server("FastAPI floor", argv, port=port, log_path=folder / "floor.log", env=mock_env(),
                      ready_path=f"/rows/{FLOOR_ROW}") as proc:
        yield proc


@contextmanager
def bare_server(folder: Path) -> Iterator[ManagedProcess]:
    port = free_port()
    argv = [sys.executable, str(STUB), "--host", LOOPBACK, "--port", str(port)]
    with start_server("bare Starlette (stub)", argv, port=port, log_path=folder / "bare.log", env=mock_env()) as proc:
        yield proc


@contextmanager
def mock_server(folder: Path, db: str, workers: int = 1) -> Iterator[tuple[ManagedProcess, str]]:
    """The mock with `--fast` and an API key on ``db``; yields it and the id of an empty chatflow."""
    port = free_port()
    argv = [*MOCK_PROGRAM, "--host", LOOPBACK, "--port", str(port), "--db", db, "--api-key", API_KEY,
            "--quiet", "--fast", "--workers", str(workers)]
    with start_server("the mock", argv, port=port, log_path=folder / f"mock-{port}.log", env=mock_env()) as proc:
        body = {"name": "bench-throughput", "type": "CHATFLOW", "flowData": json.dumps({"nodes": [], "edges": []})}
        response = httpx.post(f"{proc.url}/api/v1/chatflows", json=body, timeout=10,
                              headers={"Authorization": f"Bearer {API_KEY}"})
        response.raise_for_status()
        yield proc, str(response.json()["id"])


# ---------------------------------------------------------------- generators


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_generator(command: list[str], server: ManagedProcess, *, env: dict[str, str] | None,
                  timeout: float) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run one generator to its end; returns it and the generator's and the server's CPU (fraction of one
    core) over its run. The generator's CPU is its own rusage once reaped: the counters of
    /proc/<pid>/stat, read after the last request rather than sampled before it."""
    assert server.pid is not None
    server_before, own_before, started = cpu_seconds(server.pid), children_cpu(), time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - started
    server_cpu = (cpu_seconds(server.pid) - server_before) / wall
    generator_cpu = (children_cpu() - own_before) / wall
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done, generator_cpu, server_cpu


def measure_wrk(wrk: str, server: ManagedProcess, request: Request, args: argparse.Namespace) -> Row:
    env = {**os.environ, "WRK_METHOD": request.method, "WRK_BODY": request.body or "",
           "WRK_AUTHORIZATION": f"Bearer {request.key}" if request.key else ""}
    url = server.url + request.path

    def wrk_command(seconds: int) -> list[str]:
        return [wrk, "-t1", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(WRK_SCRIPT), url]

    if args.warmup:
        run_generator(wrk_command(args.warmup), server, env=env, timeout=args.warmup + 60)
    done, generator_cpu, server_cpu = run_generator(wrk_command(args.seconds), server, env=env,
                                                    timeout=args.seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(int(result[k]) for k in ("connect", "read", "write", "status", "timeout"))
    seconds = result["duration_us"] / 1e6
    return Row(request.name, (result["requests"] - int(result["status"])) / seconds, result["p50_us"] / 1000,
               result["p99_us"] / 1000, errors, generator_cpu, server_cpu)


def measure_python(server: ManagedProcess, request: Request, args: argparse.Namespace) -> Row:
    command = [sys.executable, "-m", "benchmarks._loadgen", server.url + request.path, "--method", request.method,
               "--concurrency", str(args.connections), "--duration", str(args.seconds), "--warmup", str(args.warmup)]
    if request.body is not None:
        command += ["--body", request.body]
    if request.key:
        command += ["--header", f"Authorization: Bearer {request.key}"]
    done, generator_cpu, server_cpu = run_generator(command, server, env=None, timeout=args.seconds + args.warmup + 120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Row(request.name, result["rps"], result["p50_ms"], result["p99_ms"], result["errors"], generator_cpu,
               server_cpu)


def measure(wrk: str | None, server: ManagedProcess, request: Request, args: argparse.Namespace) -> Row:
    row = measure_wrk(wrk, server, request, args) if wrk else measure_python(server, request, args)
    print(f"  measured {row.name}: {row.rps:.0f} req/s", flush=True)
    return row


# ---------------------------------------------------------------- instructions


def callgrind_instructions(valgrind: str, kind: str, requests: int, db: str, folder: Path) -> int:
    """Instructions callgrind counts over one in-process run (``benchmarks._inprocess``)."""
    out = folder / f"callgrind.{kind}.{requests}.{Path(db).name.replace(':', '')}.out"
    command = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
               "benchmarks._inprocess", kind, "--requests", str(requests), "--db", db]
    env = {**mock_env(), "PYTHONHASHSEED": "0"}  # the same dict layouts, run after run
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"callgrind run {kind} x{requests} exited {done.returncode}:\n{done.stderr[-2000:]}")
    for line in out.read_text().splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def instructions_per_request(valgrind: str, requests: int, folder: Path) -> dict[tuple[str, str], float]:
    """(kind, database) -> instructions per request: (run of N - run of 0) / N. Runs two at a time."""
    file_db = str(folder / "callgrind-mock.db")
    runs = [("bare", ":memory:", 0), ("bare", ":memory:", requests),
            ("floor", ":memory:", 0), ("floor", ":memory:", requests),
            ("mock-get", ":memory:", 0), ("mock-get", ":memory:", requests),
            ("mock-prediction", ":memory:", requests),
            ("mock-prediction", "file", 0), ("mock-prediction", "file", requests)]

    def one(run: tuple[str, str, int]) -> int:
        kind, db, n = run
        if db == "file":  # each run its own fresh file, so both start from the same empty database
            db = f"{file_db}.{n}"
        return callgrind_instructions(valgrind, kind, n, db, folder)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        counts = dict(zip(runs, pool.map(one, runs), strict=True))
    mock_memory_zero = counts[("mock-get", ":memory:", 0)]  # the same start-up and warm-up for both kinds
    return {
        ("bare", ":memory:"): (counts[("bare", ":memory:", requests)] - counts[("bare", ":memory:", 0)]) / requests,
        ("floor", ":memory:"): (counts[("floor", ":memory:", requests)] - counts[("floor", ":memory:", 0)]) / requests,
        ("mock-get", ":memory:"): (counts[("mock-get", ":memory:", requests)] - mock_memory_zero) / requests,
        ("mock-prediction", ":memory:"): (counts[("mock-prediction", ":memory:", requests)] - mock_memory_zero)
        / requests,
        ("mock-prediction", "file"): (counts[("mock-prediction", "file", requests)]
                                      - counts[("mock-prediction", "file", 0)]) / requests,
    }


# ---------------------------------------------------------------- report


def print_table(rows: list[Row], generator: str, args: argparse.Namespace, instructions_note: str) -> None:
    bare = rows[0].rps
    print()
    print(f"generator: {generator}; {args.connections} connections, {args.seconds} s per row"
          f"{f' after {args.warmup} s of warm-up' if args.warmup else ''}")
    print("ratio = req/s / bare req/s (same run); CPU = % of one core during the row, generator and server; "
          "srv us/req = the server's CPU time per answered request (holds when the machine is shared; an fsync's "
          f"wait is not in it); instr/req: {instructions_note}")
    header = (f"{'endpoint':<38} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
              f"{'gen CPU':>7} {'srv CPU':>7} {'srv us/req':>10} {'instr/req':>10}")
    print(header)
    print("-" * len(header))
    for row in rows:
        ratio = row.rps / bare if bare else float("nan")
        p50 = f"{row.p50_ms:.2f}" if row.p50_ms is not None else "-"
        p99 = f"{row.p99_ms:.2f}" if row.p99_ms is not None else "-"
        instr = f"{row.instructions / 1000:.0f}k" if row.instructions is not None else "-"
        cpu_us = f"{row.server_cpu / row.rps * 1e6:.0f}" if row.rps else "-"
        print(f"{row.name:<38} {row.rps:>8.0f} {ratio:>6.2f} {p50:>7} {p99:>7} {row.errors:>6} "
              f"{row.generator_cpu:>7.0%} {row.server_cpu:>7.0%} {cpu_us:>10} {instr:>10}")
    print()
    for name, target in TARGETS.items():
        row = next(r for r in rows if r.name == name)
        ratio = row.rps / bare if bare else float("nan")
        verdict = "meets it" if ratio >= target else "below it"
        print(f"{name}: {ratio:.2f}x bare (target >= {target}x): {verdict}")
    floor = next((r for r in rows if r.name.startswith("FastAPI floor")), None)
    mock_get = next((r for r in rows if r.name == "mock GET /chatflows/{id}"), None)
    if floor and mock_get and floor.rps:
        print(f"mock GET /chatflows/{{id}}: {mock_get.rps / floor.rps:.2f}x the FastAPI floor ({floor.rps / bare:.2f}x "
              "bare): the framework's share and the mock's own share of the distance to bare")
    for workers_row in (r for r in rows if " workers)" in r.name):
        single = next(r for r in rows if r.name == SINGLE_PROCESS_ROW[workers_row.name.split(" (")[0]])
        print(f"{workers_row.name}: {workers_row.rps / single.rps:.2f}x the one-process row ({single.name}), "
              f"{workers_row.rps / bare:.2f}x bare")
    saturated = [r.name for r in rows if r.generator_cpu >= 0.9]
    if saturated:
        print(f"the generator used >= 90 % of a core on: {', '.join(saturated)}: those figures are partly its own")
    starved = [r.name for r in rows if r.generator_cpu < 0.9 and r.server_cpu < 0.8]
    if starved:
        print(f"neither side used a whole core on: {', '.join(starved)}: the server waited (fsync, locks) or the "
              f"machine is shared (load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}); req/s are low "
              "there, instructions per request are not affected")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per row (wrk takes whole seconds)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds of load before each row")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                        help="auto: wrk if installed, else the Python generator; python forces the fallback")
    parser.add_argument("--workers", type=int, default=2,
                        help="also measure the mock with this many worker processes (1: skip those rows)")
    parser.add_argument("--callgrind-requests", type=int, default=300, help="requests per in-process callgrind run")
    parser.add_argument("--no-callgrind", action="store_true", help="skip the instruction counts")
    parser.add_argument("--install-tools", action="store_true", help="apt-get wrk and valgrind if missing (root)")
    args = parser.parse_args(argv)
    if args.seconds < 1:
        parser.error("--seconds must be at least 1")

    if args.install_tools:
        wanted = [tool for tool, skip in (("wrk", args.generator == "python"), ("valgrind", args.no_callgrind))
                  if not skip]
        install_tools([tool for tool in wanted if shutil.which(tool) is None])
    wrk = shutil.which("wrk") if args.generator != "python" else None
    if args.generator == "wrk" and wrk is None:
        print("wrk is not installed (apt-get install -y wrk, or --install-tools)")
        return 2
    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if wrk:
        generator = f"{wrk_version(wrk)} (C), 1 thread, Lua script {WRK_SCRIPT.name}"
    elif args.generator == "python":
        generator = f"{PYTHON_GENERATOR}, forced by --generator python"
    else:
        generator = (f"{PYTHON_GENERATOR}: FALLBACK, wrk is not installed; this generator saturates near "
                     "11-12k req/s on 2 cores, so the bare row and its ratios are partly the generator's")
    print(f"generator: {generator}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        folder = Path(tmp)
        rows: list[Row] = []
        requests: list[Request] = []
        with bare_server(folder) as bare:
            request = Request("bare Starlette GET /bare/json", "/bare/json", inprocess=("bare", ":memory:"))
            rows.append(measure(wrk, bare, request, args))
            requests.append(request)
        with floor_server(folder) as floor:
            request = Request("FastAPI floor GET /rows/{id}", f"/rows/{FLOOR_ROW}", inprocess=("floor", ":memory:"))
            rows.append(measure(wrk, floor, request, args))
            requests.append(request)
        with mock_server(folder, ":memory:") as (mock, flow):
            for request in (
                Request("mock GET /chatflows/{id}", f"/api/v1/chatflows/{flow}", key=API_KEY,
                        inprocess=("mock-get", ":memory:")),
                Request("mock POST /prediction (:memory:)", f"/api/v1/prediction/{flow}", "POST", QUESTION,
                        inprocess=("mock-prediction", ":memory:")),
            ):
                rows.append(measure(wrk, mock, request, args))
                requests.append(request)
        with mock_server(folder, str(folder / "flowise-mock.db")) as (mock, flow):
            request = Request("mock POST /prediction (file db)", f"/api/v1/prediction/{flow}", "POST", QUESTION,
                              inprocess=("mock-prediction", "file"))
            rows.append(measure(wrk, mock, request, args))
            requests.append(request)
        if args.workers > 1:
            with mock_server(folder, str(folder / "flowise-mock-workers.db"), args.workers) as (mock, flow):
                for request in (
                    Request(f"mock GET /chatflows/{{id}} ({args.workers} workers)", f"/api/v1/chatflows/{flow}",
                            key=API_KEY),
                    Request(f"mock POST /prediction ({args.workers} workers)", f"/api/v1/prediction/{flow}", "POST",
                            QUESTION),
                ):
                    rows.append(measure(wrk, mock, request, args))
                    requests.append(request)

        valgrind = shutil.which("valgrind")
        if args.no_callgrind:
            note = "not counted (--no-callgrind)"
        elif valgrind is None:
            note = "not counted: valgrind is not installed (apt-get install -y valgrind, or --install-tools)"
        else:
            n = args.callgrind_requests
            print(f"counting instructions: callgrind over in-process runs of {n} requests and of 0 (a few minutes)",
                  flush=True)
            counts = instructions_per_request(valgrind, n, folder)
            for row, request in zip(rows, requests, strict=True):
                row.instructions = counts.get(request.inprocess) if request.inprocess else None
            note = f"callgrind, in-process (no socket), ({n} requests - 0) / {n}"
    print_table(rows, generator, args, note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
