"""Capacity of the mock on this machine, measured with flowise-load itself and with a bare baseline.

1. Streaming: the highest number of concurrent streams (users streaming back to back) at which the
   mock's timing holds: median TTFT and median ITL within 10 % of what it was configured with, and
   no failed stream. Target: at least 1,000 concurrent streams.
2. Non-streaming: predictions per second of the mock (`--fast`, no LLM delay) against a bare
   Starlette JSON endpoint on the same uvicorn settings, in the same run. Target ratio: >= 0.5.
   The rows in between show where a prediction's time goes: the stub's prediction (a bare Starlette
   POST that parses JSON and keeps the message in a dict: the ceiling of any stateful POST here), a
   bare Starlette POST that stores the two chat-message rows exactly as the mock does (its schema and
   insert: the ceiling of any prediction that keeps Flowise's messages in SQLite), `GET /ping` (the
   mock's whole request pipeline with no work behind it) and `GET /chatflows/{id}` (one row read).

The load generator shares the machine with the server, so the figures describe the pair; run it on
an otherwise idle machine (`uptime` is printed so a busy one is visible).

    python -m benchmarks.capacity [--server mock|stub] [--levels 250,500,1000,1500] [--itl-ms 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from benchmarks._servers import create_chatflow, flowise_load, loadgen, server
from load.target import MockTiming

TOLERANCE = 0.10
FAST = MockTiming(ttft_ms=0, itl_ms=0, itl_dist="fixed", answer_tokens=16)


def streaming_level(kind: str, users: int, timing: MockTiming, *, duration: str, workers: int) -> dict:
    with server(kind, timing) as target, tempfile.TemporaryDirectory() as tmp:
        flow = create_chatflow(target.base_url, "load-capacity")
        summary = flowise_load(target.base_url, flow, Path(tmp), "--profile", "stream", "--users", str(users),
                               "--spawn-rate", str(max(1, users // 5)), "--duration", duration,
                               "--think-time", "0", "--workers", str(workers))
    metrics = summary["metrics"]
    failed = sum(metrics[f"streams_{o}"]["value"] for o in ("error", "aborted", "empty", "http_error"))
    ttft_error = (metrics["ttft"]["p50"] - timing.ttft_ms) / timing.ttft_ms
    itl_error = (metrics["itl"]["p50"] - timing.itl_ms) / timing.itl_ms
    return {"users": users, "streams": metrics["streams_ok"]["value"], "failed": failed,
            "ttft_p50": metrics["ttft"]["p50"], "ttft_p99": metrics["ttft"]["p99"],
            "itl_p50": metrics["itl"]["p50"], "itl_p99": metrics["itl"]["p99"],
            "tokens_per_s": metrics["aggregate_output_tokens_per_s"]["value"],
            "holds": not failed and abs(ttft_error) <= TOLERANCE and abs(itl_error) <= TOLERANCE}


def streaming(args: argparse.Namespace) -> None:
    timing = MockTiming(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms, itl_dist="fixed", answer_tokens=args.tokens)
    print(f"streaming capacity of the {args.server} (TTFT {args.ttft_ms:g} ms, ITL {args.itl_ms:g} ms, "
          f"{args.tokens} tokens, {args.workers} locust workers; holds = p50 TTFT and ITL within "
          f"{TOLERANCE:.0%}, no failed stream)")
    print(f"{'users':>6} {'streams':>8} {'failed':>6} {'TTFT p50':>9} {'p99':>8} {'ITL p50':>8} {'p99':>7} "
          f"{'tokens/s':>9}  holds")
    best = 0
    for users in args.levels:
        row = streaming_level(args.server, users, timing, duration=args.duration, workers=args.workers)
        print(f"{row['users']:>6} {row['streams']:>8} {row['failed']:>6} {row['ttft_p50']:>9.1f} {row['ttft_p99']:>8.1f} "
              f"{row['itl_p50']:>8.1f} {row['itl_p99']:>7.1f} {row['tokens_per_s']:>9.0f}  {'yes' if row['holds'] else 'no'}",
              flush=True)
        if not row["holds"]:
            break
        best = users
    print(f"highest concurrency that holds: {best or 'none'} (target >= 1000)")


def non_streaming(args: argparse.Namespace) -> None:
    """Prediction req/s against the bare baseline, with two mock endpoints between them that show where
    the time goes: ``/ping`` (the mock's whole request pipeline, no work) and a chatflow read (one row)."""
    body = json.dumps({"question": "What is Flowise?"})
    with server("stub", FAST) as stub:
        bare = loadgen(f"{stub.base_url}/bare/json", concurrency=args.concurrency, duration_s=args.rps_seconds)
        stored = loadgen(f"{stub.base_url}/bare/stored", method="POST", body=body, concurrency=args.concurrency,
                         duration_s=args.rps_seconds)
        stub_flow = create_chatflow(stub.base_url, "load-capacity")
        stub_prediction = loadgen(f"{stub.base_url}/api/v1/prediction/{stub_flow}", method="POST", body=body,
                                  concurrency=args.concurrency, duration_s=args.rps_seconds)
    with server(args.server, FAST, extra_args=("--fast",)) as target:
        flow = create_chatflow(target.base_url, "load-capacity")
        api = f"{target.base_url}/api/v1"
        rows = [
            ("pipeline only: GET /ping", loadgen(f"{api}/ping", concurrency=args.concurrency,
                                                 duration_s=args.rps_seconds)),
            ("GET /chatflows/{id}", loadgen(f"{api}/chatflows/{flow}", concurrency=args.concurrency,
                                            duration_s=args.rps_seconds)),
            ("POST /prediction/{id}", loadgen(f"{api}/prediction/{flow}", method="POST", body=body,
                                              concurrency=args.concurrency, duration_s=args.rps_seconds)),
        ]
    print(f"non-streaming req/s ({args.concurrency} connections, {args.rps_seconds:g} s each; "
          f"ratio = req/s / bare Starlette req/s)")
    print(f"{'endpoint':<32} {'req/s':>8} {'p50 ms':>7} {'errors':>6} {'ratio':>6}")
    print(f"{'bare Starlette: GET /bare/json':<32} {bare['rps']:>8.0f} {bare['p50_ms']:>7.1f} {bare['errors']:>6}")
    ratio = stub_prediction["rps"] / bare["rps"] if bare["rps"] else float("nan")
    print(f"{'stub POST /prediction (a dict)':<32} {stub_prediction['rps']:>8.0f} {stub_prediction['p50_ms']:>7.1f} "
          f"{stub_prediction['errors']:>6} {ratio:>6.2f}")
    ratio = stored["rps"] / bare["rps"] if bare["rps"] else float("nan")
    print(f"{'bare POST + the 2 message rows':<32} {stored['rps']:>8.0f} {stored['p50_ms']:>7.1f} "
          f"{stored['errors']:>6} {ratio:>6.2f}")
    for name, row in rows:
        ratio = row["rps"] / bare["rps"] if bare["rps"] else float("nan")
        print(f"{args.server + ' ' + name:<32} {row['rps']:>8.0f} {row['p50_ms']:>7.1f} {row['errors']:>6} {ratio:>6.2f}")
    prediction = rows[-1][1]
    ratio = prediction["rps"] / bare["rps"] if bare["rps"] else float("nan")
    print(f"prediction vs bare Starlette: ratio {ratio:.2f} (target >= 0.5)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["mock", "stub"], default="mock")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=[250, 500, 1000, 1500])
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    parser.add_argument("--itl-ms", type=float, default=100.0)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--duration", default="30s")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32, help="connections for the req/s comparison")
    parser.add_argument("--rps-seconds", type=float, default=10.0)
    parser.add_argument("--skip-streaming", action="store_true")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.skip_streaming:
        streaming(args)
    non_streaming(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
