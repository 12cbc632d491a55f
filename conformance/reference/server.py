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
import signal
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from conformance.reference.install import Installation
from contract.process import (
    LOOPBACK,
    MOCK_PROGRAM,
    ManagedProcess,
    ServerError,
    free_port,
    mock_env,
    wait_until_ready,
)

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

Log = Callable[[str], None]


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


def flowise_env(
    install: Installation,
    data_dir: Path,
    port: int,
    *,
    base: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a throw-away Flowise instance (docs/real-flowise.md#environment).

    `extra` is what one release needs besides (2.x: `APIKEY_PATH`, basic-auth credentials).
    """
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
    env.update(extra or {})
    return env


def start_flowise(
    install: Installation,
    data_dir: Path,
    *,
    port: int | None = None,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> ManagedProcess:
    """Start `node node_modules/flowise/bin/run start` with the release's Node (not yet waited for)."""
    port = port or free_port()
    process = ManagedProcess(
        name="flowise",
        argv=[str(install.node), str(install.flowise_run), "start"],
        url=f"http://{LOOPBACK}:{port}",
        log_path=log_dir / "flowise.log",
        env=flowise_env(install, data_dir, port, extra=extra_env),
        cwd=install.root,
    )
    return process.start()


def mock_command(port: int, *, extra: Sequence[str] = ()) -> list[str]:
    """`flowise-mock` as `python -m mockserver.cli` of this interpreter (same venv, no PATH lookup)."""
    return [*MOCK_PROGRAM, "--host", LOOPBACK, "--port", str(port), "--db", ":memory:",
            "--quiet", *extra]


def start_mock(name: str, *, log_dir: Path, extra: Sequence[str] = (), port: int | None = None) -> ManagedProcess:
    """Start one `flowise-mock` on a free loopback port (not yet waited for).

    Its attachment folder is a temporary one of ours, removed when it stops (left alone, an
    in-memory mock makes a /tmp folder of its own that outlives it).
    """
    port = port or free_port()
    env = mock_env()
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
