"""`flowise-load`: flags -> profile and plan -> preflight -> locust run -> report -> exit code.

    flowise-load [BASE_URL] [--profile chat|rag|mixed|smoke|soak] [--users N] [--spawn-rate R]
                 [--duration 60s] [--chatflow-id ID] [--api-key K] [--workers N] [--slo FILE]
                 [--report-dir DIR]

Without BASE_URL the embedded mock is started (realistic streaming timing) and loaded. Precedence:
flags > environment (`FLOWISE_LOAD_API_KEY` for the key) > SLO file > the profile's defaults.

Exit codes (the only place they are decided):
    0  the run met every SLO and stayed within its error budget
    1  the run completed and broke an SLO or the error budget
    2  bad usage: flags, SLO file, or nothing to load (no chatflow id and no key to create one)
    3  the target failed the preflight (unreachable, or the chatflow cannot answer); no load was sent
    4  the load run itself failed (locust exited without results)
  130  interrupted before the run could be reported
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import secrets
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contract.argv import attach_values
from load.errors import ConfigError, LoadError, RunFailed, TargetUnusable
from load.preflight import Preflight
from load.profiles import PROFILES, Profile
from load.runner import API_KEY_ENV, DEFAULT_MASTER_PORT, RunPlan, run_locust, run_worker
from load.slo import SloSet, Verdict, evaluate, load_overrides
from load.target import EmbeddedMock, free_port

__all__ = ["EXIT_CODES", "main"]

EXIT_CODES = {"ok": 0, "slo_failed": 1, "usage": 2, "target_unusable": 3, "run_failed": 4, "interrupted": 130}
DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


def parse_duration(text: str) -> int:
    """`90`, `90s`, `5m`, `1h30m` -> seconds (locust's own --run-time spelling)."""
    match = DURATION.match(text.strip())
    if not text.strip() or not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (examples: 60s, 5m, 1h30m)")
    hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise argparse.ArgumentTypeError("duration must be positive")
    return total


def parse_think_time(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not MIN[,MAX] seconds: {text!r}") from None
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise argparse.ArgumentTypeError(f"need 0 <= MIN <= MAX, got {text!r}")
    return bounds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowise-load",
        description="Load-test a Flowise deployment (or the embedded mock) with LLM-serving metrics and SLO gates.",
        epilog="Exit codes: 0 pass, 1 SLO or error budget broken, 2 usage, 3 target failed the preflight, "
               "4 the run failed. Profiles: " + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()),
    )
    parser.add_argument("base_url", nargs="?", metavar="BASE_URL",
                        help="Flowise server URL, e.g. http://localhost:3000 (default: start the embedded mock)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="chat", help="load profile (default: chat)")
    parser.add_argument("--users", type=int, help="concurrent users (default: the profile's)")
    parser.add_argument("--spawn-rate", type=float, help="users started per second (default: the profile's)")
    parser.add_argument("--duration", type=parse_duration, help="run time, e.g. 60s, 5m (default: the profile's)")
    parser.add_argument("--think-time", type=parse_think_time, metavar="MIN[,MAX]",
                        help="seconds each user waits between requests (default: the profile's; 0 = back to back)")
    parser.add_argument("--chatflow-id", help="chatflow to load; without it one is created (needs --api-key on a real target)")
    parser.add_argument("--api-key", help=f"Flowise API key (bearer); also read from ${API_KEY_ENV}")
    parser.add_argument("--workers", type=int, default=0, help="local locust worker processes (0: one process)")
    parser.add_argument("--remote-workers", type=int, default=0,
                        help="also wait for this many workers started elsewhere with --worker-of")
    parser.add_argument("--master-bind", default="127.0.0.1", metavar="HOST",
                        help="interface the locust master listens on (0.0.0.0 for remote workers)")
    parser.add_argument("--master-port", type=int,
                        help=f"locust master port (default: {DEFAULT_MASTER_PORT} with --remote-workers, else a free one)")
    parser.add_argument("--worker-of", metavar="HOST[:PORT]",
                        help="run only a locust worker for a flowise-load master elsewhere, then exit")
    parser.add_argument("--slo", type=Path, metavar="FILE", help="SLO overrides (TOML, or YAML by .yaml/.yml)")
    parser.add_argument("--report-dir", type=Path, metavar="DIR",
                        help="where reports go (default: reports/load/<UTC timestamp>)")
    parser.add_argument("--progress-interval", type=float, default=5.0, help="seconds between LLM progress lines (0: off)")
    parser.add_argument("--mock-command", metavar="CMD",
                        help="program started as the embedded mock instead of flowise-mock (it gets flowise-mock's flags)")
    return parser


LOAD_MODULES = ("locust", "gevent", "numpy", "matplotlib")


def missing_load_modules() -> list[str]:
    """The load tool's own dependencies are the `load` extra; a base install has only the mock's."""
    return [name for name in LOAD_MODULES if importlib.util.find_spec(name) is None]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(attach_values(sys.argv[1:] if argv is None else argv, ("--api-key",)))
    try:
        if missing := missing_load_modules():
            raise ConfigError(f"the load tool needs {', '.join(missing)}, which this install lacks: "
                              "pip install 'flowise-contract-kit[load]'")
        if args.worker_of:
            return run_worker(args.worker_of)
        return run(args)
    except ConfigError as exc:
        return _fail(exc, "usage")
    except TargetUnusable as exc:
        return _fail(exc, "target_unusable")
    except RunFailed as exc:
        return _fail(exc, "run_failed")
    except KeyboardInterrupt:
        print("flowise-load: interrupted", file=sys.stderr)
        return EXIT_CODES["interrupted"]


def _fail(exc: LoadError, kind: str) -> int:
    print(f"flowise-load: {exc}", file=sys.stderr)
    return EXIT_CODES[kind]


def resolve_slos(profile: Profile, path: Path | None) -> SloSet:
    if path is None:
        return profile.slos
    overrides = load_overrides(path)
    unknown = set(overrides) - set(PROFILES)
    if unknown:
        raise ConfigError(f"SLO file {path}: unknown profile(s) {', '.join(sorted(unknown))} "
                          f"(profiles: {', '.join(sorted(PROFILES))})")
    section = overrides.get(profile.name)
    return profile.slos.with_overrides(section) if section else profile.slos


def run(args: argparse.Namespace) -> int:
    profile = PROFILES[args.profile]
    slos = resolve_slos(profile, args.slo)
    for flag in ("users", "workers", "remote_workers"):
        if getattr(args, flag) is not None and getattr(args, flag) < (1 if flag == "users" else 0):
            raise ConfigError(f"--{flag.replace('_', '-')} must be {'positive' if flag == 'users' else '>= 0'}")
    api_key = args.api_key or os.environ.get(API_KEY_ENV, "")
    now = datetime.now(UTC)
    run_id = f"{now:%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
    report_dir = args.report_dir or _fresh_dir(Path("reports") / "load" / f"{now:%Y%m%dT%H%M%SZ}")

    with ExitStack() as cleanup:
        base_url = args.base_url
        if base_url is None:
            report_dir.mkdir(parents=True, exist_ok=True)
            mock = EmbeddedMock(program=args.mock_command, log_path=report_dir / "mock.log")
            cleanup.callback(mock.stop)
            base_url = mock.start()
            print(f"flowise-load: started the embedded mock at {base_url} (log: {report_dir / 'mock.log'})")
        base_url = base_url.rstrip("/")
        preflight = Preflight(base_url, api_key)
        preflight.ping()
        chatflow_id = args.chatflow_id
        if not chatflow_id:
            if args.base_url is not None and not api_key:
                raise ConfigError(f"no --chatflow-id given and no --api-key to create a chatflow on {base_url}")
            chatflow_id = preflight.create_chatflow(f"load-{run_id}", retrieval=profile.retrieves)
            cleanup.callback(_delete_chatflow, preflight, chatflow_id)
        preflight.predict(chatflow_id, streaming=profile.streams)

        plan = RunPlan(
            host=base_url, profile=profile, users=args.users or profile.users,
            spawn_rate=args.spawn_rate or profile.spawn_rate, duration_s=args.duration or profile.duration_s,
            think_time=args.think_time or profile.think_time, chatflow_id=chatflow_id, run_id=run_id,
            report_dir=report_dir, api_key=api_key, workers=args.workers, remote_workers=args.remote_workers,
            master_bind_host=args.master_bind,
            master_port=args.master_port or (DEFAULT_MASTER_PORT if args.remote_workers else free_port()),
            progress_interval=args.progress_interval,
        )
        print(f"flowise-load: profile {profile.name}, {plan.users} users for {plan.duration_s} s against {base_url} "
              f"(chatflow {chatflow_id}{f', {plan.workers} workers' if plan.workers else ''})", flush=True)
        started = time.time()
        exit_code = run_locust(plan)
    if not plan.metrics_file.exists():
        raise RunFailed(f"locust exited with code {exit_code} without writing {plan.metrics_file}")
    run_info = {"target": base_url, "profile": profile.name, "users": plan.users, "spawn_rate": plan.spawn_rate,
                "duration_s_planned": plan.duration_s, "workers": plan.workers + plan.remote_workers,
                "chatflow_id": chatflow_id, "run_id": run_id, "embedded_mock": args.base_url is None,
                "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds")}
    return report(report_dir, slos, run_info)


def report(report_dir: Path, slos: SloSet, run_info: dict[str, Any]) -> int:
    """Build every report file, print the verdicts, and turn them into the exit code."""
    from load.report import build_summary, load_run_data, write_index, write_plots, write_summary

    data = load_run_data(report_dir)
    summary = build_summary(data, run=run_info)
    verdicts = evaluate(slos, summary["metrics"])
    passed = all(v.passed for v in verdicts)
    summary["slo"] = {"passed": passed, "max_error_rate": slos.max_error_rate,
                      "verdicts": [v.to_dict() for v in verdicts]}
    write_summary(report_dir / "summary.json", summary)
    plots = write_plots(data, report_dir)
    index = write_index(summary, plots, report_dir)
    print_verdicts(summary, verdicts)
    print(f"flowise-load: report {index}")
    return EXIT_CODES["ok"] if passed else EXIT_CODES["slo_failed"]


def print_verdicts(summary: dict[str, Any], verdicts: list[Verdict]) -> None:
    metrics = summary["metrics"]
    errors = metrics["error_rate"]
    lines = [f"flowise-load: {errors['count']} requests, {errors['failures']} failed; "
             f"streams ok {metrics['streams_ok']['value']}, error {metrics['streams_error']['value']}, "
             f"aborted {metrics['streams_aborted']['value']}, empty {metrics['streams_empty']['value']}, "
             f"http error {metrics['streams_http_error']['value']}"]
    for key in ("ttft", "itl", "e2e", "prediction_latency", "rag_latency"):
        m = metrics[key]
        if m["count"]:
            lines.append(f"  {key:<20} p50 {m['p50']:9.1f}  p90 {m['p90']:9.1f}  p99 {m['p99']:9.1f} {m['unit']}"
                         f"  (n={m['count']})")
    aggregate = metrics["aggregate_output_tokens_per_s"]
    if aggregate.get("value"):
        lines.append(f"  aggregate output     {aggregate['value']:.1f} tokens/s ({aggregate['total_tokens']} tokens)")
    for verdict in verdicts:
        lines.append(f"  {'PASS' if verdict.passed else 'FAIL'}  {verdict.name:<28} {verdict.detail}")
    print("\n".join(lines), flush=True)


def _delete_chatflow(preflight: Preflight, chatflow_id: str) -> None:
    warning = preflight.delete_chatflow(chatflow_id)
    if warning:
        print(f"flowise-load: warning: {warning}", file=sys.stderr)


def _fresh_dir(path: Path) -> Path:
    candidate, index = path, 1
    while candidate.exists():
        index += 1
        candidate = path.with_name(f"{path.name}-{index}")
    return candidate


if __name__ == "__main__":
    sys.exit(main())
