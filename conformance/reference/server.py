"""Start and stop the processes of a reference run: the real Flowise and `flowise-mock` instances.

Rules this module keeps, because the machine is shared:
- every process is started in its own session, so stopping it (SIGTERM, then SIGKILL) reaches its
  children too and never anything this run did not start; `ProcessGroup` stops them all on exit,
  failure or Ctrl-C;
- traffic goes to 127.0.0.1 only. Flowise binds every interface (it has no host setting), the mock
  is told `--host 127.0.0.1`;
- Flowise's data (HOME, database, secrets, blobs, logs) lives in a throw-away folder, so every run
  starts from a fresh instance and the user's home stays clean.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conformance.embedded import free_port
from conformance.reference.install import Installation

__all__ = [
    "LOOPBACK",
    "ManagedProcess",
    "ProcessGroup",
    "ServerError",
    "flowise_env",
    "free_port",
    "mock_command",
    "start_flowise",
    "start_mock",
    "wait_until_ready",
]

LOOPBACK = "127.0.0.1"
Log = Callable[[str], None]


class ServerError(RuntimeError):
    """A process did not start or did not become ready; the message points at its log."""


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
            self.process = subprocess.Popen(  # noqa: S603 - argv is built here, never from user text
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.started_at = time.monotonic()
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the process's own group (this pid's), then SIGKILL what is left after `grace`."""
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


class ProcessGroup:
    """Everything a run started; stops it all in reverse order, also on errors and signals."""

    def __init__(self, log: Log = print) -> None:
        self.processes: list[ManagedProcess] = []
        self.log = log
        self._previous: dict[int, object] = {}

    def add(self, process: ManagedProcess) -> ManagedProcess:
        self.processes.append(process)
        return process

    def __enter__(self) -> ProcessGroup:
        # SIGINT too: a run started in the background inherits SIGINT ignored, and must still stop cleanly.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[signum] = signal.signal(signum, _raise_interrupt)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def stop_all(self) -> None:
        while self.processes:
            process = self.processes.pop()
            if process.process is not None:
                self.log(f"[stop] {process.name} (pid {process.pid})")
            process.stop()


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def wait_until_ready(
    process: ManagedProcess,
    path: str,
    *,
    timeout: float,
    accept: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200,
) -> float:
    """Poll `GET url+path` until `accept`; returns the seconds it took. Fails fast if the process dies."""
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
            time.sleep(0.5)
    raise ServerError(f"{process.name} not ready after {timeout:.0f} s; log {process.log_path}:\n{process.log_tail()}")


def flowise_env(install: Installation, data_dir: Path, port: int, *, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a throw-away Flowise instance (flowise-observed.md §2)."""
    env = dict(os.environ if base is None else base)
    for name in [name for name in env if name.startswith(("FLOWISE_", "DATABASE_", "npm_"))]:
        del env[name]
    home = data_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "PATH": f"{install.node.parent}{os.pathsep}{env.get('PATH', '')}",
            "HOME": str(home),
            "PORT": str(port),
            "DISABLE_FLOWISE_TELEMETRY": "true",
            "DATABASE_TYPE": "sqlite",
            "DATABASE_PATH": str(data_dir),
            "SECRETKEY_PATH": str(data_dir),
            "BLOB_STORAGE_PATH": str(data_dir / "storage"),
            "LOG_PATH": str(data_dir / "logs"),
            "LOG_LEVEL": "info",
            # The default deny list refuses loopback LLM base paths; the LLM here is on 127.0.0.1.
            "HTTP_SECURITY_CHECK": "false",
            "SECURE_COOKIES": "false",
            "APP_URL": f"http://{LOOPBACK}:{port}",
            "MODEL_LIST_CONFIG_JSON": str(install.models_json),
            # Off by default in Flowise; on here so /api/v1/metrics can be checked like the mock's.
            "ENABLE_METRICS": "true",
            "METRICS_PROVIDER": "prometheus",
            "NODE_OPTIONS": f"--require {install.shim}",
        }
    )
    return env


def start_flowise(install: Installation, data_dir: Path, *, port: int | None = None, log_dir: Path) -> ManagedProcess:
    """Start `node node_modules/flowise/bin/run start` with Node 24 (not yet waited for)."""
    port = port or free_port()
    process = ManagedProcess(
        name="flowise",
        argv=[str(install.node), str(install.flowise_run), "start"],
        url=f"http://{LOOPBACK}:{port}",
        log_path=log_dir / "flowise.log",
        env=flowise_env(install, data_dir, port),
        cwd=install.root,
    )
    return process.start()


def mock_command(port: int, *, extra: Sequence[str] = ()) -> list[str]:
    """`flowise-mock` as `python -m mockserver.cli` of this interpreter (same venv, no PATH lookup)."""
    return [sys.executable, "-m", "mockserver.cli", "--host", LOOPBACK, "--port", str(port), "--db", ":memory:",
            "--quiet", *extra]


def start_mock(name: str, *, log_dir: Path, extra: Sequence[str] = (), port: int | None = None) -> ManagedProcess:
    """Start one `flowise-mock` on a free loopback port (not yet waited for).

    Its attachment folder is a temporary one of ours, removed when it stops (left alone, an
    in-memory mock makes a /tmp folder of its own that outlives it).
    """
    port = port or free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MOCK_", "FLOWISE_"))}
    env.pop("PORT", None)
    data_dir = Path(tempfile.mkdtemp(prefix=f"flowise-reference-{name}-"))
    process = ManagedProcess(
        name=name,
        argv=mock_command(port, extra=["--data-dir", str(data_dir), *extra]),
        url=f"http://{LOOPBACK}:{port}",
        log_path=log_dir / f"{name}.log",
        env=env,
        owned_dirs=[data_dir],
    )
    return process.start()
