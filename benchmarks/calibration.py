"""Harness calibration: against a server with a known TTFT and ITL, does flowise-load measure them?

Starts the mock (or, with `--server stub`, the test stub) with fixed timing, runs the stream profile
(back to back), and prints configured vs measured TTFT and ITL (mean, p50, p99) with the relative error
of the medians; the harness is calibrated when both are within 10 %.

    python -m benchmarks.calibration [--server mock|stub] [--ttft-ms 200] [--itl-ms 20] [--users 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks._servers import create_chatflow, flowise_load, server
from load.target import MockTiming

TOLERANCE = 0.10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["mock", "stub"], default="mock")
    parser.add_argument("--ttft-ms", type=float, default=200.0)
    parser.add_argument("--itl-ms", type=float, default=20.0)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", default="20s")
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args(argv)
    timing = MockTiming(ttft_ms=args.ttft_ms, itl_ms=args.itl_ms, itl_dist="fixed", answer_tokens=args.tokens)
    with server(args.server, timing) as target, tempfile.TemporaryDirectory() as tmp:
        flow = create_chatflow(target.base_url, "load-calibration")
        summary = flowise_load(target.base_url, flow, Path(tmp), "--profile", "stream", "--users", str(args.users),
                               "--spawn-rate", str(args.users), "--duration", args.duration, "--think-time", "0",
                               "--workers", str(args.workers))
    metrics = summary["metrics"]
    print(f"calibration against the {args.server}: {args.users} concurrent streams, {args.tokens} tokens each, "
          f"{metrics['ttft']['count']} streams measured")
    print(f"{'metric':<6} {'configured':>11} {'mean':>9} {'p50':>9} {'p99':>9} {'p50 error':>10}")
    calibrated = True
    for key, configured in (("ttft", args.ttft_ms), ("itl", args.itl_ms)):
        m = metrics[key]
        error = (m["p50"] - configured) / configured
        calibrated &= abs(error) <= TOLERANCE
        print(f"{key:<6} {configured:>9.1f}ms {m['mean']:>7.1f}ms {m['p50']:>7.1f}ms {m['p99']:>7.1f}ms {error:>+9.1%}")
    failed = sum(metrics[f"streams_{o}"]["value"] for o in ("error", "aborted", "empty", "http_error"))
    print(f"failed streams: {failed}")
    print(f"calibrated within {TOLERANCE:.0%}: {'yes' if calibrated and not failed else 'NO'}")
    return 0 if calibrated and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
