"""`GET /api/v1/chatflows/{id}` on the mock against a bare Starlette JSON endpoint, same uvicorn settings.

Both servers run one uvicorn process with the mock's settings; the same closed-loop generator
(`benchmarks._loadgen`) drives each for the same time. Prints both rates and their ratio (target >= 0.5),
i.e. how much the mock's spec-driven machinery (auth, validation, SQLite) costs on a plain read.

    python -m benchmarks.chatflow_get [--server mock|stub] [--concurrency 32] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import sys

from benchmarks._servers import create_chatflow, loadgen, server
from load.target import MockTiming

FAST = MockTiming(ttft_ms=0, itl_ms=0, itl_dist="fixed", answer_tokens=16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["mock", "stub"], default="mock")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with server(args.server, FAST, extra_args=("--fast",)) as target:
        flow = create_chatflow(target.base_url, "load-chatflow-get")
        mock = loadgen(f"{target.base_url}/api/v1/chatflows/{flow}", concurrency=args.concurrency,
                       duration_s=args.seconds)
    with server("stub", FAST) as stub:
        bare = loadgen(f"{stub.base_url}/bare/json", concurrency=args.concurrency, duration_s=args.seconds)
    ratio = mock["rps"] / bare["rps"] if bare["rps"] else float("nan")
    print(f"GET /api/v1/chatflows/{{id}} on the {args.server}: {mock['rps']:.0f} req/s "
          f"(p50 {mock['p50_ms']:.2f} ms, p99 {mock['p99_ms']:.2f} ms, {mock['errors']} errors)")
    print(f"bare Starlette JSON endpoint:        {bare['rps']:.0f} req/s "
          f"(p50 {bare['p50_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} ms)")
    print(f"ratio {ratio:.2f} (target >= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
