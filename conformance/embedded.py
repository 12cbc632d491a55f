"""The embedded mock: `flowise-conformance` with no BASE_URL runs against a fresh `flowise-mock`.

It runs as a subprocess (not in-process) so the suite talks to it over a real socket exactly as it
would to a remote Flowise, and so a mock that hangs cannot hang the suite. It gets a free loopback
port, a SQLite file in a temporary folder (removed when it stops), a generated admin key, no artificial latency (`--fast`), response
validation on (`--strict`), and a 1 MB body limit so the 413 test stays cheap. It is stopped by its
PID, never by name.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from conformance.errors import MockStartError
from contract.process import MOCK_PROGRAM, ManagedProcess, ServerError, free_port, mock_env, start_server

__all__ = ["EMBEDDED_BODY_LIMIT", "EmbeddedMock", "free_port"]

#: The body limit the embedded mock runs with (Flowise's FLOWISE_FILE_SIZE_LIMIT syntax and bytes).
EMBEDDED_BODY_LIMIT = ("1mb", 1024 * 1024)


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
        self.env = mock_env(env)
        self.process: ManagedProcess | None = None

    @property
    def command(self) -> list[str]:
        return [
            *MOCK_PROGRAM,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db",
            str(self.workdir / "flowise-mock.db"),
            f"--api-key={self.api_key}",
            "--file-size-limit",
            EMBEDDED_BODY_LIMIT[0],
            "--fast",
            "--strict",
            "--quiet",
            *self.extra_args,
        ]

    def start(self) -> str:
        """Launch the mock and return its base URL once `GET /api/v1/ping` answers `pong`."""
        try:
            self.process = start_server("flowise-mock", self.command, port=self.port, log_path=self.log_path,
                                        timeout=self.startup_timeout, env=self.env, owned_dirs=[self.workdir])
        except ServerError as exc:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise MockStartError(str(exc), url=self.base_url) from None
        return self.base_url

    def stop(self) -> None:
        """Stop the process by PID (SIGTERM, SIGKILL after 5 seconds) and remove its folder."""
        process, self.process = self.process, None
        if process is not None:
            process.stop(grace=5.0)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> EmbeddedMock:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
