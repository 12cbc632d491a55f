"""The locustfile `flowise-load` runs: declares the users and wires the recorder into locust's events.

It stays small on purpose: user behaviour lives in `load.users`, the stream client in
`load.sse_client`, numbers in `load.recorder`. What is here is the plumbing locust's own hooks need:
the `--flowise-*` options (which locust forwards from a master to its workers), profile weights, the
exact samples travelling from workers to the master with each stats report, a progress line with
the LLM numbers locust's table does not show, and `metrics.json` written once the run is over.
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from load.metrics import Outcome
from load.profiles import PROFILES
from load.recorder import Recorder
from load.users import ManagementUser, PredictionUser, RagUser, StreamingUser
from load.users.base import recorder_for

__all__ = ["ManagementUser", "PredictionUser", "RagUser", "StreamingUser"]

logger = logging.getLogger("flowise-load")
PAYLOAD_KEY = "flowise_load"
PERCENTILES = (0.5, 0.9, 0.95, 0.99, 0.999, 1.0)


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument("--flowise-profile", default="", help="profile whose user weights apply")
    parser.add_argument("--flowise-chatflow-id", default="", help="chatflow the users predict on")
    parser.add_argument("--flowise-api-key", default="", env_var="FLOWISE_LOAD_API_KEY", is_secret=True,
                        help="bearer API key (better passed in the environment)")
    parser.add_argument("--flowise-run-id", default="", help="marks names of what the run creates")
    parser.add_argument("--flowise-think-time", default="0", help="MIN[,MAX] seconds between requests")
    parser.add_argument("--flowise-metrics-file", default="", help="where the master writes metrics.json")
    parser.add_argument("--flowise-progress-interval", type=float, default=5.0, help="seconds between progress lines")


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    recorder = recorder_for(environment)
    if isinstance(environment.runner, WorkerRunner):

        def ship_samples(client_id: str, data: dict[str, Any]) -> None:
            data[PAYLOAD_KEY] = recorder.drain()

        environment.events.report_to_master.add_listener(ship_samples)
        return
    options = environment.parsed_options
    profile = PROFILES.get(getattr(options, "flowise_profile", ""))
    if profile is not None:
        for user_class in environment.user_classes:
            user_class.weight = profile.weights.get(user_class.__name__, user_class.weight)
    run = RunClock()

    def receive_samples(client_id: str, data: dict[str, Any]) -> None:
        if PAYLOAD_KEY in data:
            recorder.merge(data[PAYLOAD_KEY])

    environment.events.worker_report.add_listener(receive_samples)
    environment.events.test_start.add_listener(lambda **_: run.start())
    environment.events.test_stop.add_listener(lambda **_: run.stop())
    environment.events.quit.add_listener(lambda **_: write_metrics(environment, run))
    interval = getattr(options, "flowise_progress_interval", 5.0)
    if interval > 0:
        gevent.spawn(report_progress, environment, interval)


class RunClock:
    """Wall-clock bounds of the load phase, the denominator of aggregate rates."""

    def __init__(self) -> None:
        self.started_at: float | None = None
        self.stopped_at: float | None = None

    def start(self) -> None:
        self.started_at = self.started_at or time.time()

    def stop(self) -> None:
        self.stopped_at = time.time()


def write_metrics(environment: Environment, run: RunClock) -> None:
    path = getattr(environment.parsed_options, "flowise_metrics_file", "")
    if not path:
        return
    options = environment.parsed_options
    meta = {
        "profile": getattr(options, "flowise_profile", ""),
        "run_id": getattr(options, "flowise_run_id", ""),
        "host": environment.host,
        "started_at": run.started_at,
        "stopped_at": run.stopped_at or time.time(),
        "users": getattr(options, "num_users", None),
        "workers": len(getattr(environment.runner, "clients", {}) or {}),
    }
    recorder_for(environment).write(Path(path), meta=meta, requests=request_snapshot(environment))


def request_snapshot(environment: Environment) -> list[dict[str, Any]]:
    """locust's final per-row statistics, taken after the last worker report (its CSV may lag by a tick)."""
    assert environment.runner is not None
    stats = environment.runner.stats
    rows = []
    for entry in sorted(stats.entries.values(), key=lambda e: (e.name, e.method or "")):
        rows.append({
            "type": entry.method, "name": entry.name, "count": entry.num_requests,
            "failures": entry.num_failures, "mean": entry.avg_response_time,
            "min": entry.min_response_time, "max": entry.max_response_time,
            "rps": entry.total_rps, "avg_content_length": entry.avg_content_length,
            "percentiles": {str(p): entry.get_response_time_percentile(p) for p in PERCENTILES}
            if entry.num_requests else {},
        })
    return rows


def report_progress(environment: Environment, interval: float) -> None:
    """Every `interval` seconds, one line of the LLM numbers for the last window."""
    recorder = recorder_for(environment)
    seen = 0
    last = time.time()
    while True:
        gevent.sleep(interval)
        now = time.time()
        line = progress_line(recorder, seen, now - last)
        seen, last = len(recorder.streams["outcome"]), now
        if line:
            logger.info(line)


def progress_line(recorder: Recorder, seen: int, window_s: float) -> str:
    outcomes = recorder.streams["outcome"][seen:]
    if not outcomes:
        return ""
    ttft = sorted(v for v in recorder.streams["ttft_ms"][seen:] if v is not None)
    itl = sorted(v for v in recorder.streams["itl_ms"][seen:] if v is not None)
    tokens = sum(recorder.streams["tokens"][seen:])
    counts = {o.value: outcomes.count(o.value) for o in Outcome}
    parts = [f"streams {len(outcomes)} ({', '.join(f'{k} {v}' for k, v in counts.items() if v)})"]
    if ttft:
        parts.append(f"TTFT p50 {statistics.median(ttft):.0f} ms p99 {ttft[int(0.99 * (len(ttft) - 1))]:.0f} ms")
    if itl:
        parts.append(f"ITL p99 {itl[int(0.99 * (len(itl) - 1))]:.1f} ms")
    parts.append(f"{tokens / max(window_s, 1e-9):.0f} output tokens/s")
    return "last window: " + "; ".join(parts)
