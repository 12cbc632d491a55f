"""Runs locust as subprocesses: one headless process, or a master plus N workers (locust's own distributed mode).

Subprocesses rather than locust's library API because importing locust gevent-patches the importing
process, and because `--workers` must be exactly what an operator would start by hand on other
machines (`locust --worker --master-host ...`), so one code path serves both. The API key travels in
the environment (`FLOWISE_LOAD_API_KEY`), never on a command line that `ps` would show.

Output files (under the report directory): `locust_stats.csv`, `locust_stats_history.csv`,
`locust_failures.csv`, `locust_exceptions.csv`, `locust.html`, and `metrics.json` from the master.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from load.profiles import Profile

__all__ = ["LOCUSTFILE", "RunPlan", "locust_base_command", "run_locust", "worker_command"]

LOCUSTFILE = Path(__file__).resolve().with_name("locustfile.py")
PROJECT_ROOT = LOCUSTFILE.parent.parent
API_KEY_ENV = "FLOWISE_LOAD_API_KEY"
DEFAULT_MASTER_PORT = 5557


@dataclass(frozen=True)
class RunPlan:
    """Everything one load run needs, resolved from flags and profile by `load.cli`."""

    host: str
    profile: Profile
    users: int
    spawn_rate: float
    duration_s: int
    think_time: tuple[float, float]
    chatflow_id: str
    run_id: str
    report_dir: Path
    api_key: str = ""
    workers: int = 0
    remote_workers: int = 0
    master_bind_host: str = "127.0.0.1"
    master_port: int = DEFAULT_MASTER_PORT
    progress_interval: float = 5.0

    @property
    def distributed(self) -> bool:
        return self.workers + self.remote_workers > 0

    @property
    def metrics_file(self) -> Path:
        return self.report_dir / "metrics.json"


def locust_base_command() -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]


def master_command(plan: RunPlan) -> list[str]:
    low, high = plan.think_time
    command = [
        *locust_base_command(), "--headless", "--host", plan.host,
        "--users", str(plan.users), "--spawn-rate", f"{plan.spawn_rate:g}", "--run-time", f"{plan.duration_s}s",
        "--csv", str(plan.report_dir / "locust"), "--csv-full-history", "--html", str(plan.report_dir / "locust.html"),
        "--exit-code-on-error", "0",
        "--flowise-profile", plan.profile.name, "--flowise-chatflow-id", plan.chatflow_id,
        "--flowise-run-id", plan.run_id, "--flowise-think-time", f"{low:g},{high:g}",
        "--flowise-metrics-file", str(plan.metrics_file),
        "--flowise-progress-interval", f"{plan.progress_interval:g}",
    ]
    if plan.distributed:
        command += ["--master", "--expect-workers", str(plan.workers + plan.remote_workers),
                    "--expect-workers-max-wait", "120",
                    "--master-bind-host", plan.master_bind_host, "--master-bind-port", str(plan.master_port)]
    return [*command, *sorted(plan.profile.weights)]


def worker_command(master_host: str, master_port: int) -> list[str]:
    return [*locust_base_command(), "--worker", "--master-host", master_host, "--master-port", str(master_port)]


def subprocess_env(api_key: str = "") -> dict[str, str]:
    """The environment of a locust process: this project importable, the API key out of argv."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    if api_key:
        env[API_KEY_ENV] = api_key
    return env


def run_locust(plan: RunPlan) -> int:
    """Run the plan to completion; live progress goes to this terminal. Returns the master's exit code."""
    plan.report_dir.mkdir(parents=True, exist_ok=True)
    env = subprocess_env(plan.api_key)
    master = subprocess.Popen(master_command(plan), env=env, stdin=subprocess.DEVNULL)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        connect_host = "127.0.0.1" if plan.master_bind_host in ("0.0.0.0", "*", "") else plan.master_bind_host
        for index in range(plan.workers):
            log = open(plan.report_dir / f"worker-{index + 1}.log", "wb")  # noqa: SIM115
            with log:
                workers.append(subprocess.Popen(worker_command(connect_host, plan.master_port), env=env,
                                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        return master.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to every process of the group; let locust write its reports.
        return master.wait()
    finally:
        _stop(master)
        for worker in workers:
            _stop(worker)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_worker(master: str) -> int:
    """`flowise-load --worker-of HOST[:PORT]`: a worker for a master on another machine."""
    host, _, port = master.partition(":")
    command = worker_command(host, int(port or DEFAULT_MASTER_PORT))
    process = subprocess.Popen(command, env=subprocess_env(), stdin=subprocess.DEVNULL)
    try:
        return process.wait()
    except KeyboardInterrupt:
        return process.wait()
    finally:
        _stop(process)
