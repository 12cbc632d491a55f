"""A server as a child process: started in its own session, polled until ready, stopped by its PID.

`flowise-conformance`, `flowise-load`, the benchmarks and the reference harness all run servers beside
themselves (the mock, a stub, a real Flowise). They share this one launcher so that every one of them
binds loopback on a free port, keeps its log, and is stopped the same way: SIGTERM to its own process
group, SIGKILL for what is left after a grace period, never a process this run did not start.

Importing this module does not import the mock's app (no FastAPI, no SQLite): a locust process may use it.
``serve_in_thread`` is the in-process variant the tests use for an ASGI app that must be reached over a socket.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

__all__ = [
    "LOOPBACK",
    "MOCK_PROGRAM",
    "ManagedProcess",
    "ServerError",
    "free_port",
    "mock_env",
    "serve_in_thread",
    "start_server",
    "wait_until_ready",
]

LOOPBACK = "127.0.0.1"
#: `flowise-mock` as this interpreter runs it: same virtualenv, no PATH lookup.
MOCK_PROGRAM = (sys.executable, "-m", "mockserver.cli")
#: Environment variables the mock reads; a child mock is configured by its flags alone.
_MOCK_ENV_PREFIXES = ("MOCK_", "FLOWISE_", "CORS_")


class ServerError(RuntimeError):
    """A process did not start or did not become ready; the message ends with its log's last lines."""


_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (the kernel picks it), and never one this process handed out
    before: the kernel may offer a port again as soon as it is released, and two servers started one after
    the other would then race for it (the loser exits, and the winner answers its readiness probe)."""
    with _HANDED_OUT_LOCK:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port = int(sock.getsockname()[1])
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port
    raise ServerError("no free port the kernel offered was new to this process")


def mock_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without the variables that would configure a mock."""
    env = dict(os.environ if base is None else base)
    for name in [name for name in env if name.startswith(_MOCK_ENV_PREFIXES) or name == "PORT"]:
        del env[name]
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ManagedProcess:
    """One started process, its log file, and the URL it serves."""

    name: str
    argv: list[str]
    url: str
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    #: Folders that belong to this process alone, removed once it is stopped.
    owned_dirs: list[Path] = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            try:
                self.process = subprocess.Popen(  # noqa: S603 - argv is built by the caller, never from user text
                    self.argv,
                    cwd=self.cwd,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ServerError(f"cannot run {self.name} ({self.argv[0]}): {exc}") from None
        self.started_at = time.monotonic()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process's own group (this pid's), then SIGKILL what is left after ``grace``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(timeout=10)
        # Children that outlived their parent are still in the group this process led.
        self._signal(signal.SIGKILL)
        for directory in self.owned_dirs:
            shutil.rmtree(directory, ignore_errors=True)

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def wait_until_ready(
    process: ManagedProcess,
    path: str,
    *,
    timeout: float,
    interval: float = 0.1,
    accept: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200,
) -> float:
    """Poll ``GET url+path`` until ``accept``; returns the seconds it took. Fails fast if the process dies."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            if not process.running():
                raise ServerError(
                    f"{process.name} exited (code {process.process.returncode if process.process else '?'}) "
                    f"before it was ready; log {process.log_path}:\n{process.log_tail()}"
                )
            try:
                if accept(client.get(process.url + path)):
                    return time.monotonic() - process.started_at
            except httpx.TransportError:
                pass
            time.sleep(interval)
    raise ServerError(f"{process.name} not ready after {timeout:.0f} s; log {process.log_path}:\n{process.log_tail()}")


def start_server(name: str, argv: Sequence[str], *, port: int, log_path: Path, ready_path: str = "/api/v1/ping",
                 timeout: float = 30.0, env: Mapping[str, str] | None = None,
                 owned_dirs: Sequence[Path] = ()) -> ManagedProcess:
    """Start ``argv`` (already told to listen on ``port``) and wait until ``ready_path`` answers 200.
    A process that dies or never answers is stopped and reported as a ``ServerError``."""
    process = ManagedProcess(name=name, argv=list(argv), url=f"http://{LOOPBACK}:{port}", log_path=log_path,
                             env=dict(env) if env is not None else None, owned_dirs=list(owned_dirs))
    process.start()
    try:
        wait_until_ready(process, ready_path, timeout=timeout)
    except BaseException:
        process.stop(grace=5.0)
        raise
    return process


@contextmanager
def serve_in_thread(app: Any, *, log_level: str = "error", timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread on a free loopback port; yields its base URL and
    stops it on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level=log_level, proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise ServerError(f"uvicorn did not start on {LOOPBACK}:{port} within {timeout:g} s")
        time.sleep(0.01)
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)
