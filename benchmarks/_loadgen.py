"""A closed-loop HTTP load generator for req/s comparisons: N connections, each sending back to back.

Used instead of locust where only throughput matters, so the comparison measures the server and not
locust's per-request bookkeeping. Runs as its own process (`python -m benchmarks._loadgen`) because
it uses gevent; prints one JSON line: requests, errors, seconds, rps, p50_ms, p99_ms.
"""

from __future__ import annotations

import argparse
import json
import time

import gevent
from gevent.pool import Pool
from geventhttpclient import URL, HTTPClient


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default=None, help="JSON body")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    url = URL(args.url)
    client = HTTPClient.from_url(url, concurrency=args.concurrency, connection_timeout=10, network_timeout=30)
    headers = {"Content-Type": "application/json"} if args.body else {}
    headers.update(tuple(part.strip() for part in header.split(":", 1)) for header in args.header)
    body = args.body.encode() if args.body else None
    latencies: list[float] = []
    errors = 0
    measuring = False
    stop_at = time.monotonic() + args.warmup + args.duration

    def loop() -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                response = client.request(args.method, url.request_uri, body=body, headers=headers)
                response.read()
                ok = response.status_code == 200
            except Exception:
                ok = False
            if measuring:
                if ok:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1

    pool = Pool(args.concurrency)
    for _ in range(args.concurrency):
        pool.spawn(loop)
    gevent.sleep(args.warmup)
    measuring = True
    began = time.monotonic()
    pool.join()
    seconds = time.monotonic() - began
    latencies.sort()
    pick = (lambda q: latencies[int(q * (len(latencies) - 1))] * 1000) if latencies else (lambda q: None)
    print(json.dumps({"requests": len(latencies), "errors": errors, "seconds": seconds,
                      "rps": len(latencies) / seconds, "p50_ms": pick(0.5), "p99_ms": pick(0.99)}))


if __name__ == "__main__":
    main()
