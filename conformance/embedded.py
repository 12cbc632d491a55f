"""The embedded mock: `flowise-conformance` with no BASE_URL runs against a fresh `flowise-mock`.

It runs as a subprocess (not in-process) so the suite talks to it over a real socket exactly as it
would to a remote Flowise, and so a mock that hangs cannot hang the suite. It gets a free loopback
port, a SQLite file in a temporary folder (removed when it stops), a generated admin key, no artificial latency (`--fast`), response
validation on (`--strict`), and a 1 MB body limit so the 413 test stays cheap. It is stopped by its
PID, never by name.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from conformance.errors import MockStartError

__all__ = ["EMBEDDED_BODY_LIMIT", "EmbeddedMock", "free_port", "mock_command"]

#: The body limit the embedded mock runs with (Flowise's FLOWISE_FILE_SIZE_LIMIT syntax and bytes).
EMBEDDED_BODY_LIMIT = ("1mb", 1024 * 1024)
#: Environment variables the mock would read and that must not leak in from the caller's shell.
_MOCK_ENV_PREFIXES = ("MOCK_", "FLOWISE_", "PORT", "CORS_")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def mock_command() -> list[str]:
    """How to start `flowise-mock`: the script beside this interpreter, on PATH, or `-m`."""
    beside = Path(sys.executable).parent / "flowise-mock"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("flowise-mock")
    if found:
        return [found]
    return [sys.executable, "-m", "mockserver.cli"]


class EmbeddedMock:
    """Start, wait for, and stop one `flowise-mock` process."""

    def __init__(
        self,
        *,
        env: Mapping[str, str],
        api_key: str | None = None,
        extra_args: tuple[str, ...] = (),
        startup_timeout: float = 30.0,
        log_path: Path | None = None,
    ) -> None:
        self.api_key = api_key or "sk-conformance-" + secrets.token_urlsafe(18)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.extra_args = extra_args
        self.startup_timeout = startup_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="flowise-conformance-mock-"))
        self.log_path = log_path or self.workdir / "flowise-mock.log"
        self.env = {k: v for k, v in env.items() if not k.startswith(_MOCK_ENV_PREFIXES)}
        self.env["FLOWISE_FILE_SIZE_LIMIT"] = EMBEDDED_BODY_LIMIT[0]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return [
            *mock_command(),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            str(self.workdir / "flowise-mock.db"),
            "--api-key",
            self.api_key,
            "--fast",
            "--strict",
            "--quiet",
            *self.extra_args,
        ]

    def start(self) -> str:
        """Launch the mock and return its base URL once `GET /api/v1/ping` answers `pong`."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise MockStartError(f"cannot run flowise-mock: {exc}") from None
        finally:
            log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise MockStartError(
                    f"flowise-mock exited with code {self.process.returncode}: {self._log_tail()}", url=self.base_url
                )
            try:
                response = httpx.get(self.base_url + "/api/v1/ping", timeout=1.0)
                if response.status_code == 200:
                    return self.base_url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise MockStartError(
            f"flowise-mock did not answer ping within {self.startup_timeout:.0f}s: {self._log_tail()}",
            url=self.base_url,
        )

    def stop(self) -> None:
        """Terminate the process by PID, then kill it if it does not go within 5 seconds."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> EmbeddedMock:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) or "(empty log)"
