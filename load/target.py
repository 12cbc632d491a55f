"""The embedded mock: `flowise-mock` started as a subprocess on a free loopback port, stopped by its PID.

`flowise-load` with no BASE_URL loads this mock, with realistic streaming timing, so a first run needs
no Flowise. The mock is never imported into a locust process (locust monkey-patches the whole process
with gevent); it runs beside it, and only its command line is known here, so a Flowise-compatible
server with the same flags can stand in (`--mock-command`).
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from contract.process import MOCK_PROGRAM, ManagedProcess, ServerError, free_port, mock_env, start_server
from load.errors import TargetUnusable

__all__ = ["REALISTIC_TIMING", "EmbeddedMock", "MockTiming", "free_port"]


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


class EmbeddedMock:
    """Starts the mock, waits for `GET /api/v1/ping`, and stops exactly the process it started."""

    def __init__(self, *, timing: MockTiming = REALISTIC_TIMING, program: str | None = None,
                 log_path: Path | None = None, max_concurrent: int = 100_000, extra_args: tuple[str, ...] = ()) -> None:
        self.timing = timing
        self.program = tuple(shlex.split(program)) if program else MOCK_PROGRAM
        self.log_path = log_path
        self.max_concurrent = max_concurrent
        self.extra_args = extra_args
        self.port = 0
        self.process: ManagedProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [*self.program, "--host", "127.0.0.1", "--port", str(self.port), "--db", ":memory:", "--no-auth", "--quiet",
                *self.timing.flags(), "--max-concurrent", str(self.max_concurrent), *self.extra_args]

    def start(self, *, timeout_s: float = 30.0) -> str:
        self.port = free_port()
        owned: list[Path] = []
        log_path = self.log_path
        if log_path is None:
            owned.append(Path(tempfile.mkdtemp(prefix="flowise-load-mock-")))
            log_path = owned[0] / "mock.log"
        try:
            self.process = start_server("the embedded mock", self.command(), port=self.port, log_path=log_path,
                                        timeout=timeout_s, env=mock_env(), owned_dirs=owned)
        except ServerError as exc:
            for directory in owned:
                shutil.rmtree(directory, ignore_errors=True)
            raise TargetUnusable(f"{exc}\n(command: {shlex.join(self.command())})") from None
        return self.base_url

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.stop(grace=5.0)

    def __enter__(self) -> EmbeddedMock:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
