"""How well the mock keeps its streaming timing under load: configured vs measured TTFT and ITL.

Starts ``flowise-mock`` (subprocess, 127.0.0.1, a free port, ``--db :memory: --no-auth``), creates an
empty chatflow, opens N concurrent streaming predictions with httpx (asyncio) and prints, for time to
first token and inter-token latency, the configured value next to the measured mean, p50 and p99.
Figures, not a pass/fail test. The client runs in one Python process too, so on a small machine part of
the measured jitter is the client's own.

    .venv/bin/python benchmarks/bench_stream_timing.py --streams 200 --ttft-ms 120 --itl-ms 25 --tokens 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from load.target import free_port

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def start_mock(port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    executable = Path(sys.executable).parent / "flowise-mock"
    command = [str(executable) if executable.exists() else "flowise-mock", "--host", "127.0.0.1", "--port",
               str(port), "--db", ":memory:", "--no-auth", "--quiet", "--ttft-ms", str(args.ttft_ms),
               "--itl-ms", str(args.itl_ms), "--itl-dist", args.itl_dist, "--answer-tokens", str(args.tokens)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
        if process.poll() is not None:
            raise SystemExit(f"flowise-mock exited: {process.stderr.read().decode() if process.stderr else ''}")
    process.kill()
    raise SystemExit("flowise-mock did not start within 30 s")


async def one_stream(client: httpx.AsyncClient, url: str, question: str) -> tuple[float, list[float], float]:
    """Seconds to the first token event, the gaps between token events, and seconds to the headers."""
    started = time.perf_counter()
    stamps: list[float] = []
    buffer = b""
    async with client.stream("POST", url, json={"question": question, "streaming": True}) as response:
        opened = time.perf_counter() - started
        response.raise_for_status()
        async for chunk in response.aiter_raw():
            now = time.perf_counter()
            buffer += chunk
            *frames, buffer = buffer.split(b"\n\n")
            stamps.extend(now for frame in frames if b'"event":"token"' in frame)
    if not stamps:
        raise RuntimeError("stream carried no token event")
    return stamps[0] - started, [b - a for a, b in zip(stamps, stamps[1:], strict=False)], opened


async def raw_stream(base: str, url: str, question: str) -> tuple[float, list[float], float]:
    """``one_stream`` over a bare asyncio socket: the same figures at a fraction of httpx's client cost.

    It only counts frames (``"event":"token"`` occurrences per read), which is all the timing needs, so
    the measurement is dominated by the server rather than by the client's HTTP machinery.
    """
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = json.dumps({"question": question, "streaming": True}).encode()
    request = (f"POST {url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    started = time.perf_counter()
    writer.write(request)
    await writer.drain()
    opened = 0.0
    stamps: list[float] = []
    tail = b""
    try:
        while True:
            data = await reader.read(65536)
            now = time.perf_counter()
            if not data:
                break
            if not opened:
                opened = now - started
            window = tail + data
            stamps.extend(now for _ in range(window.count(b'"event":"token"') - tail.count(b'"event":"token"')))
            tail = window[-32:]
            if b'"event":"end"' in window:
                break
    finally:
        writer.close()
    if not stamps:
        raise RuntimeError("stream carried no token event")
    return stamps[0] - started, [b - a for a, b in zip(stamps, stamps[1:], strict=False)], opened


async def after(delay: float, coroutine):  # noqa: ANN001, ANN201 - a small scheduling helper
    await asyncio.sleep(delay)
    return await coroutine


async def run(base: str, args: argparse.Namespace) -> None:
    flow = {"name": "bench", "type": "CHATFLOW", "flowData": json.dumps({"nodes": [], "edges": []})}
    async with httpx.AsyncClient(base_url=base, timeout=30) as setup:
        created = await setup.post("/api/v1/chatflows", json=flow)
        created.raise_for_status()
    url = f"/api/v1/prediction/{created.json()['id']}"
    # One client (one connection pool) per stream: a single pool holding hundreds of live connections
    # spends its time in httpcore's request-to-connection bookkeeping, which would be measured as latency.
    tls = ssl.create_default_context()
    clients = [httpx.AsyncClient(base_url=base, timeout=120, verify=tls)
               for _ in range(args.streams if args.client == "httpx" else 1)]
    try:
        if args.client == "raw":
            await raw_stream(base, url, "warm-up")
            wall = time.perf_counter()
            results = await asyncio.gather(*(after(args.ramp_s * i / args.streams,
                                                   raw_stream(base, url, f"question {i}"))
                                             for i in range(args.streams)), return_exceptions=True)
            wall = time.perf_counter() - wall
            clients_done = True
        else:
            clients_done = False
        if not clients_done:
            await one_stream(clients[0], url, "warm-up")
            # Connect every client first (keep-alive), so the timed burst measures the mock, not TCP set-up.
            await asyncio.gather(*(client.get("/api/v1/ping") for client in clients))
            wall = time.perf_counter()
            results = await asyncio.gather(*(after(args.ramp_s * i / args.streams,
                                                   one_stream(client, url, f"question {i}"))
                                             for i, client in enumerate(clients)), return_exceptions=True)
            wall = time.perf_counter() - wall
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    failures = [r for r in results if isinstance(r, BaseException)]
    good = [r for r in results if not isinstance(r, BaseException)]
    ttft = [r[0] * 1000 for r in good]
    itl = [gap * 1000 for r in good for gap in r[1]]
    opened = [r[2] * 1000 for r in good]
    after_open = [(r[0] - r[2]) * 1000 for r in good]
    print(f"client: {args.client}; streams: {args.streams} concurrent, {len(good)} ok, {len(failures)} failed, "
          f"{args.tokens} tokens each, started over {args.ramp_s:g} s, wall {wall:.2f} s, "
          f"ITL distribution {args.itl_dist}")
    if failures:
        print(f"first failure: {failures[0]!r}")
    if not good:
        return
    print(f"{'metric':<6} {'configured':>11} {'mean':>9} {'p50':>9} {'p99':>9} {'mean err':>9}")
    for name, configured, values in (("TTFT", args.ttft_ms, ttft), ("ITL", args.itl_ms, itl)):
        mean = statistics.fmean(values)
        print(f"{name:<6} {configured:>9.1f}ms {mean:>7.1f}ms {percentile(values, 0.5):>7.1f}ms "
              f"{percentile(values, 0.99):>7.1f}ms {100 * (mean - configured) / configured:>+8.1f}%")
    print(f"of which: request -> stream open (headers): mean {statistics.fmean(opened):.1f}ms, "
          f"p99 {percentile(opened, 0.99):.1f}ms; open -> first token: mean {statistics.fmean(after_open):.1f}ms, "
          f"p99 {percentile(after_open, 0.99):.1f}ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--ttft-ms", type=float, default=120.0)
    parser.add_argument("--itl-ms", type=float, default=25.0)
    parser.add_argument("--itl-dist", choices=["fixed", "uniform", "lognormal"], default="fixed")
    parser.add_argument("--tokens", type=int, default=50, help="answer length (--answer-tokens)")
    parser.add_argument("--ramp-s", type=float, default=0.0,
                        help="spread the stream starts evenly over this many seconds (0: one burst)")
    parser.add_argument("--client", choices=["httpx", "raw"], default="httpx",
                        help="httpx (asyncio) clients, or bare asyncio sockets to keep client overhead out")
    args = parser.parse_args()
    port = free_port()
    process = start_mock(port, args)
    try:
        asyncio.run(run(f"http://127.0.0.1:{port}", args))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
