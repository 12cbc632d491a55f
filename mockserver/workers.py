"""``--workers N``: N mock processes on one port and one SQLite file, for machines with more cores.

uvicorn's process supervisor binds the socket once and starts N workers (``spawn``), each with its own
app, connection and event loop; the kernel spreads connections over them. What makes that correct:

- the database is prepared once, by the parent, before any worker starts (schema, workspace, admin
  key), so no two workers race to create them;
- every process opens the file in WAL mode with a busy timeout, so writers take turns instead of failing
  with "database is locked"; each statement commits on its own (no transaction shared across requests,
  which would hold the write lock while the event loop serves others), and each answer still waits for
  an fsync shared with the requests that wrote meanwhile (durability.py);
- ids are random 122-bit UUIDs drawn per process (a forked child drops its parent's pool), so they are
  unique across processes;
- a changed API key is seen by every worker: ``KeyRing`` drops its cache when another process has
  bumped the key generation.

What stays per process: the per-chatflow rate limits (each worker counts its own window, as several
Flowise instances without a shared store do), the running streams an abort request can stop (it must
reach the worker serving the stream), the Prometheus metrics, and the Custom Function sandboxes.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from mockserver import serving
from mockserver.settings import MockSettings

__all__ = ["SETTINGS_VARIABLE", "serve", "worker_app"]

#: How the parent hands its settings to the workers (they are new interpreters: spawn, not fork).
SETTINGS_VARIABLE = "FLOWISE_MOCK_WORKER_SETTINGS"


def worker_app() -> FastAPI:
    """The app of one worker (uvicorn's factory), from the settings the parent left in the environment."""
    from mockserver.app import create_app
    from mockserver.cli import configure_logging

    configure_logging()
    settings = MockSettings.model_validate_json(os.environ[SETTINGS_VARIABLE])
    serving.set_header_timeout(settings.header_timeout_s)
    return create_app(settings)


def serve(settings: MockSettings, *, log_level: str = "warning") -> None:
    """Serve ``settings.workers`` processes until SIGINT or SIGTERM (uvicorn restarts a worker that dies)."""
    os.environ[SETTINGS_VARIABLE] = settings.model_dump_json()
    config = uvicorn.Config(
        "mockserver.workers:worker_app", factory=True, workers=settings.workers, host=settings.host,
        port=settings.port, log_level=log_level, access_log=False, timeout_graceful_shutdown=2,
        proxy_headers=False, http="mockserver.serving:HeaderDeadlineProtocol")
    Multiprocess(config, sockets=[config.bind_socket()]).run()
