"""The embedded mock: `flowise-mock` started as a subprocess on a free loopback port, stopped by its PID.

`flowise-load` with no BASE_URL loads this mock, with realistic streaming timing, so a first run needs
no Flowise. The mock is never imported into a locust process (locust monkey-patches the whole process
with gevent); it runs beside it, and only its command line is known here, so a Flowise-compatible
server with the same flags can stand in (`--mock-command`).
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from load.errors import TargetUnusable

__all__ = ["REALISTIC_TIMING", "EmbeddedMock", "MockTiming", "free_port"]

DEFAULT_PROGRAM = (sys.executable, "-c", "import sys; from mockserver.cli import main; sys.exit(main())")


@dataclass(frozen=True)
class MockTiming:
    """How the mock's fake LLM paces its answer (flags of `flowise-mock`)."""

    ttft_ms: float = 120.0
    itl_ms: float = 20.0
    itl_dist: str = "lognormal"
    tokens_per_chunk: int = 1
    answer_tokens: int = 64

    def flags(self) -> list[str]:
        return ["--ttft-ms", f"{self.ttft_ms:g}", "--itl-ms", f"{self.itl_ms:g}", "--itl-dist", self.itl_dist,
                "--tokens-per-chunk", str(self.tokens_per_chunk), "--answer-tokens", str(self.answer_tokens)]


REALISTIC_TIMING = MockTiming()
"""A hosted-model feel: ~120 ms to the first token, ~50 tokens/s with jitter, 64-token answers."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedMock:
    """Starts the mock, waits for `GET /api/v1/ping`, and kills exactly the process it started."""

    def __init__(self, *, timing: MockTiming = REALISTIC_TIMING, program: str | None = None,
                 log_path: Path | None = None, max_concurrent: int = 100_000, extra_args: tuple[str, ...] = ()) -> None:
        self.timing = timing
        self.program = tuple(shlex.split(program)) if program else DEFAULT_PROGRAM
        self.log_path = log_path
        self.max_concurrent = max_concurrent
        self.extra_args = extra_args
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [*self.program, "--host", "127.0.0.1", "--port", str(self.port), "--db", ":memory:", "--no-auth", "--quiet",
                *self.timing.flags(), "--max-concurrent", str(self.max_concurrent), *self.extra_args]

    def start(self, *, timeout_s: float = 30.0) -> str:
        self.port = free_port()
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TargetUnusable(f"the embedded mock exited with code {self.process.returncode} before "
                                     f"answering (command: {shlex.join(self.command())})")
            try:
                if httpx.get(f"{self.base_url}/api/v1/ping", timeout=1.0).status_code == 200:
                    return self.base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TargetUnusable(f"the embedded mock did not answer /api/v1/ping within {timeout_s:g} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> EmbeddedMock:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
