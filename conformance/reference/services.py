"""The services a production-like Flowise needs beside itself: a PostgreSQL cluster, a Redis, a queue worker.

`python -m conformance.reference --database postgres` and `--mode queue` judge Flowise as it is deployed
in production (docs/real-flowise.md#postgres, docs/real-flowise.md#queue-mode). Each service is a throw-away one:

- PostgreSQL: `initdb` into a temporary folder, then `postgres -D <dir> -k <dir> -p <free port> -h 127.0.0.1`,
  then a login role and a database for Flowise (password over TCP, the superuser only on the folder's
  Unix socket). `initdb` and `postgres` refuse to run as root: as root, both run as an unprivileged
  user (`postgres` if the system has one, else `nobody`) through `setpriv`, in a folder that user owns.
- Redis: `redis-server --port <free port> --bind 127.0.0.1 --dir <tmp> --save '' --appendonly no`.
- The queue worker: `node <install>/node_modules/flowise/bin/run worker`, the server's environment
  (same database, secrets, blob storage, Redis, queue name) with its own log folder.

Every process is a `ManagedProcess` (own session, stopped by its pid's process group); the caller adds
it to the run's `ProcessGroup` before the next one starts, so a failure stops what is already running.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance.reference.install import Installation
from conformance.reference.server import LOOPBACK, ManagedProcess, ServerError, flowise_env, free_port

__all__ = [
    "DATABASES",
    "MODES",
    "POSTGRES_INSTALL_HINT",
    "REDIS_INSTALL_HINT",
    "PostgresDatabase",
    "configuration_error",
    "database_env",
    "find_postgres_bin",
    "find_redis_server",
    "postgres_server_command",
    "queue_env",
    "redis_command",
    "start_postgres",
    "start_redis",
    "start_worker",
    "unprivileged_prefix",
    "worker_command",
]

DATABASES = ("sqlite", "postgres")
MODES = ("main", "queue")
POSTGRES_INSTALL_HINT = "apt-get install -y postgresql"
REDIS_INSTALL_HINT = "apt-get install -y redis-server"
#: Where Debian and Ubuntu put the server binaries (`initdb` and `postgres` are not on PATH there).
POSTGRES_LIB = Path("/usr/lib/postgresql")
POSTGRES_SUPERUSER = "postgres"
FLOWISE_DB_USER = "flowise"
FLOWISE_DB_NAME = "flowise"
QUEUE_NAME = "flowise-reference-queue"
#: The worker logs these once its queues are consumed (flowise/dist/commands/worker.js).
WORKER_READY_LINE = "Schedule Worker"
#: Users an unprivileged PostgreSQL may run as when this process is root, in order of preference.
UNPRIVILEGED_USERS = ("postgres", "nobody")

Log = Callable[[str], None]


def configuration_error(database: str, mode: str) -> str | None:
    """Why `--database`/`--mode` cannot be combined, or None when they can."""
    if database not in DATABASES:
        return f"--database must be one of {', '.join(DATABASES)}, not {database!r}"
    if mode not in MODES:
        return f"--mode must be one of {', '.join(MODES)}, not {mode!r}"
    return None


# --- PostgreSQL ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresDatabase:
    """Where Flowise finds its database: TCP on loopback with a password."""

    host: str
    port: int
    user: str
    password: str
    name: str


def database_env(database: PostgresDatabase | None) -> dict[str, str]:
    """Flowise's database variables (flowise/dist/DataSource.js); nothing extra for SQLite (flowise_env's default)."""
    if database is None:
        return {}
    return {
        "DATABASE_TYPE": "postgres",
        "DATABASE_HOST": database.host,
        "DATABASE_PORT": str(database.port),
        "DATABASE_USER": database.user,
        "DATABASE_PASSWORD": database.password,
        "DATABASE_NAME": database.name,
        "DATABASE_SSL": "false",
    }


def find_postgres_bin(path: str | None = None, lib: Path = POSTGRES_LIB) -> Path:
    """The folder holding `initdb`, `postgres` and `psql`: from PATH, else the newest `/usr/lib/postgresql/<N>/bin`."""
    found = shutil.which("initdb", path=path)
    if found:
        folder = Path(found).resolve().parent
        if (folder / "postgres").exists():
            return folder
    versions = sorted((p for p in lib.glob("*/bin") if (p / "initdb").exists() and (p / "postgres").exists()),
                      key=lambda p: _version_key(p.parent.name), reverse=True)
    if versions:
        return versions[0]
    raise ServerError(f"--database postgres needs the PostgreSQL server binaries (initdb, postgres), found neither "
                      f"on PATH nor under {lib}/<version>/bin: install them with `{POSTGRES_INSTALL_HINT}`")


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit()) or (0,)


def unprivileged_prefix(euid: int | None = None, users: Sequence[str] = UNPRIVILEGED_USERS) -> tuple[list[str], int | None, int | None]:
    """As root: `setpriv` to an unprivileged user (argv prefix, uid, gid); otherwise nothing to prepend."""
    if (os.geteuid() if euid is None else euid) != 0:
        return [], None, None
    for user in users:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            continue
        setpriv = shutil.which("setpriv")
        if not setpriv:
            raise ServerError("PostgreSQL refuses to run as root, and `setpriv` (util-linux) is missing to run it as "
                              f"the unprivileged user {user!r}: run the harness as an ordinary user")
        return ([setpriv, f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", "--"],
                entry.pw_uid, entry.pw_gid)
    raise ServerError(f"PostgreSQL refuses to run as root, and none of the users {', '.join(users)} exists "
                      "to run it as: run the harness as an ordinary user")


def initdb_command(bin_dir: Path, data_dir: Path) -> list[str]:
    """A cluster whose superuser may connect only on its own Unix socket (trust); TCP needs a password."""
    return [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", POSTGRES_SUPERUSER, "-E", "UTF8", "--locale=C",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"]


def postgres_server_command(bin_dir: Path, data_dir: Path, port: int) -> list[str]:
    """The server in the foreground, on loopback only, its socket in its own folder."""
    return [str(bin_dir / "postgres"), "-D", str(data_dir), "-k", str(data_dir), "-p", str(port), "-h", LOOPBACK,
            "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"]


def _psql(bin_dir: Path, socket_dir: Path, port: int, sql: str, *, database: str = "postgres") -> subprocess.CompletedProcess[str]:
    psql = bin_dir / "psql" if (bin_dir / "psql").exists() else Path(shutil.which("psql") or "psql")
    return subprocess.run(
        [str(psql), "-h", str(socket_dir), "-p", str(port), "-U", POSTGRES_SUPERUSER, "-d", database,
         "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        capture_output=True, text=True, timeout=60, check=False,
    )


def start_postgres(log_dir: Path, *, log: Log = print, timeout: float = 60.0,
                   bin_dir: Path | None = None) -> tuple[ManagedProcess, PostgresDatabase]:
    """initdb, start, wait, create Flowise's role and database. The process owns (and removes) its folder."""
    bin_dir = bin_dir or find_postgres_bin()
    prefix, uid, gid = unprivileged_prefix()
    data_dir = Path(tempfile.mkdtemp(prefix="flowise-reference-postgres-"))
    if uid is not None and gid is not None:
        os.chown(data_dir, uid, gid)
        log(f"running PostgreSQL as uid {uid} (it refuses root)")
    log_dir.mkdir(parents=True, exist_ok=True)
    init_log = log_dir / "postgres-initdb.log"
    with init_log.open("w") as out:
        try:
            done = subprocess.run([*prefix, *initdb_command(bin_dir, data_dir)], stdout=out, stderr=subprocess.STDOUT,
                                  cwd=data_dir, timeout=180, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise ServerError(f"initdb did not run: {exc}; log {init_log}") from None
    if done.returncode != 0:
        shutil.rmtree(data_dir, ignore_errors=True)
        tail = "\n".join(init_log.read_text(errors="replace").splitlines()[-10:])
        raise ServerError(f"initdb failed (exit {done.returncode}); log {init_log}:\n{tail}")
    port = free_port()
    process = ManagedProcess(
        name="postgres",
        argv=[*prefix, *postgres_server_command(bin_dir, data_dir, port)],
        url=f"postgresql://{LOOPBACK}:{port}",
        log_path=log_dir / "postgres.log",
        cwd=data_dir,
        owned_dirs=[data_dir],
    ).start()
    try:
        _wait_for(process, lambda: _psql(bin_dir, data_dir, port, "SELECT 1").returncode == 0, timeout)
        password = secrets.token_urlsafe(18)
        for sql in (f"CREATE ROLE {FLOWISE_DB_USER} LOGIN PASSWORD '{password}'",
                    f"CREATE DATABASE {FLOWISE_DB_NAME} OWNER {FLOWISE_DB_USER}"):
            done_sql = _psql(bin_dir, data_dir, port, sql)
            if done_sql.returncode != 0:
                raise ServerError(f"PostgreSQL: {sql.split(' PASSWORD')[0]} failed: {done_sql.stderr.strip()}")
    except BaseException:
        process.stop(grace=5.0)
        raise
    return process, PostgresDatabase(LOOPBACK, port, FLOWISE_DB_USER, password, FLOWISE_DB_NAME)


# --- Redis and the queue ------------------------------------------------------------------------------


def find_redis_server(path: str | None = None) -> str:
    found = shutil.which("redis-server", path=path)
    if not found:
        raise ServerError(f"--mode queue needs a Redis server and `redis-server` is not on PATH: "
                          f"install it with `{REDIS_INSTALL_HINT}`")
    return found


def redis_command(binary: str, port: int, data_dir: Path) -> list[str]:
    """A Redis on loopback that keeps nothing on disk."""
    return [binary, "--port", str(port), "--bind", LOOPBACK, "--dir", str(data_dir), "--save", "", "--appendonly", "no",
            "--daemonize", "no"]


def queue_env(redis_port: int) -> dict[str, str]:
    """What server and worker need for queue mode (flowise/dist/queue/QueueManager.js, commands/base.js)."""
    return {
        "MODE": "queue",
        "REDIS_URL": f"redis://{LOOPBACK}:{redis_port}",
        "QUEUE_NAME": QUEUE_NAME,
        "WORKER_CONCURRENCY": "10",
    }


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(log_dir: Path, *, timeout: float = 30.0, binary: str | None = None) -> ManagedProcess:
    """`redis-server` on a free loopback port, waited for (PING → PONG)."""
    binary = binary or find_redis_server()
    data_dir = Path(tempfile.mkdtemp(prefix="flowise-reference-redis-"))
    port = free_port()
    process = ManagedProcess(
        name="redis",
        argv=redis_command(binary, port, data_dir),
        url=f"redis://{LOOPBACK}:{port}",
        log_path=log_dir / "redis.log",
        cwd=data_dir,
        owned_dirs=[data_dir],
    ).start()
    try:
        _wait_for(process, lambda: _redis_answers(port), timeout)
    except BaseException:
        process.stop(grace=5.0)
        raise
    return process


def redis_port(process: ManagedProcess) -> int:
    return int(process.url.rsplit(":", 1)[1])


def worker_command(install: Installation) -> list[str]:
    return [str(install.node), str(install.flowise_run), "worker"]


def start_worker(install: Installation, data_dir: Path, *, log_dir: Path, extra_env: dict[str, str],
                 timeout: float = 240.0) -> ManagedProcess:
    """The queue worker with the server's environment (its own log folder and an unused port), waited for."""
    env = flowise_env(install, data_dir, free_port(), extra=extra_env)
    env["LOG_PATH"] = str(data_dir / "logs-worker")
    process = ManagedProcess(
        name="flowise-worker",
        argv=worker_command(install),
        url="",
        log_path=log_dir / "flowise-worker.log",
        env=env,
        cwd=install.root,
    ).start()
    try:
        _wait_for(process, lambda: WORKER_READY_LINE in _read(process.log_path), timeout)
    except BaseException:
        process.stop(grace=5.0)
        raise
    return process


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _wait_for(process: ManagedProcess, ready: Callable[[], bool], timeout: float, interval: float = 0.2) -> float:
    """Poll `ready` until true; fail fast when the process exits, with its log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.running():
            code = process.process.returncode if process.process else "?"
            raise ServerError(f"{process.name} exited (code {code}) before it was ready; log {process.log_path}:\n"
                              f"{process.log_tail()}")
        if ready():
            return time.monotonic() - process.started_at
        time.sleep(interval)
    raise ServerError(f"{process.name} not ready after {timeout:.0f} s; log {process.log_path}:\n{process.log_tail()}")
