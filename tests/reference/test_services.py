"""Postgres and queue mode for the reference harness: environments, launch commands, missing binaries, flags."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conformance.reference import cli, run, services
from conformance.reference.install import Installation
from conformance.reference.server import ServerError, flowise_env
from conformance.reference.services import (
    PostgresDatabase,
    configuration_error,
    database_env,
    find_postgres_bin,
    find_redis_server,
    initdb_command,
    postgres_server_command,
    queue_env,
    redis_command,
    unprivileged_prefix,
    worker_command,
)

DATABASE = PostgresDatabase("127.0.0.1", 54329, "flowise", "s3cret", "flowise")


def test_postgres_env_names_every_variable_flowise_reads_and_replaces_sqlite(tmp_path: Path) -> None:
    install = Installation(tmp_path)
    env = flowise_env(install, tmp_path / "data", 3000, base={"PATH": "/bin"}, extra=database_env(DATABASE))
    assert {name: env[name] for name in env if name.startswith("DATABASE_") and name != "DATABASE_PATH"} == {
        "DATABASE_TYPE": "postgres",
        "DATABASE_HOST": "127.0.0.1",
        "DATABASE_PORT": "54329",
        "DATABASE_USER": "flowise",
        "DATABASE_PASSWORD": "s3cret",
        "DATABASE_NAME": "flowise",
        "DATABASE_SSL": "false",
    }
    assert database_env(None) == {}, "SQLite is flowise_env's default"


def test_queue_env_points_server_and_worker_at_the_same_loopback_redis() -> None:
    env = queue_env(6390)
    assert env["MODE"] == "queue"
    assert env["REDIS_URL"] == "redis://127.0.0.1:6390"
    assert env["QUEUE_NAME"] and int(env["WORKER_CONCURRENCY"]) > 0


def test_postgres_commands_listen_on_loopback_with_the_socket_in_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "pg"
    server = postgres_server_command(Path("/pg/bin"), data, 5555)
    assert server[:7] == ["/pg/bin/postgres", "-D", str(data), "-k", str(data), "-p", "5555"]
    assert server[server.index("-h") + 1] == "127.0.0.1"
    init = initdb_command(Path("/pg/bin"), data)
    assert init[0] == "/pg/bin/initdb" and init[init.index("-D") + 1] == str(data)
    assert "--auth-host=scram-sha-256" in init, "over TCP Flowise needs its password"


def test_redis_command_keeps_nothing_on_disk(tmp_path: Path) -> None:
    argv = redis_command("/usr/bin/redis-server", 6400, tmp_path)
    pairs = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert pairs == {"--port": "6400", "--bind": "127.0.0.1", "--dir": str(tmp_path), "--save": "",
                     "--appendonly": "no", "--daemonize": "no"}


def test_worker_is_flowise_run_worker_with_the_release_node(tmp_path: Path) -> None:
    install = Installation(tmp_path)
    assert worker_command(install) == [str(install.node), str(install.flowise_run), "worker"]


def test_a_missing_redis_server_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match=r"apt-get install -y redis-server"):
        find_redis_server(path=str(tmp_path))


def test_missing_postgres_binaries_name_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match=r"initdb.*apt-get install -y postgresql"):
        find_postgres_bin(path=str(tmp_path), lib=tmp_path / "lib")


def test_postgres_binaries_are_found_under_the_newest_versioned_folder(tmp_path: Path) -> None:
    for version in ("13", "15"):
        for name in ("initdb", "postgres"):
            binary = tmp_path / "lib" / version / "bin" / name
            binary.parent.mkdir(parents=True, exist_ok=True)
            binary.write_text("")
    assert find_postgres_bin(path=str(tmp_path / "empty"), lib=tmp_path / "lib") == tmp_path / "lib" / "15" / "bin"


def test_as_root_postgres_runs_as_an_unprivileged_user_and_otherwise_as_is() -> None:
    assert unprivileged_prefix(euid=1000) == ([], None, None)
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is not installed here")
    prefix, uid, gid = unprivileged_prefix(euid=0, users=("nobody",))
    assert prefix[0].endswith("setpriv") and f"--reuid={uid}" in prefix and prefix[-1] == "--"
    assert uid is not None and uid != 0 and gid is not None
    with pytest.raises(ServerError, match="refuses to run as root"):
        unprivileged_prefix(euid=0, users=("no-such-user-here",))


def test_configuration_error_rejects_unknown_values() -> None:
    assert configuration_error("postgres", "queue") is None
    assert configuration_error("sqlite", "queue") is None
    assert "--database" in (configuration_error("mysql", "main") or "")
    assert "--mode" in (configuration_error("sqlite", "cluster") or "")


def test_database_and_mode_flags_become_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[run.RunOptions] = []
    monkeypatch.setattr(run, "run_reference", lambda options: seen.append(options) or 0)
    cli.main(["--database", "postgres", "--mode", "queue"])
    cli.main([])
    assert [(o.database, o.mode) for o in seen] == [("postgres", "queue"), ("sqlite", "main")]
    with pytest.raises(SystemExit):
        cli.main(["--database", "mysql"])
    assert "redis-server" in cli.build_parser().format_help()


def test_a_missing_redis_ends_the_run_with_code_4_and_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install = Installation((tmp_path / "cache").resolve())
    for path in (install.node, install.flowise_run, install.shim):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    install.marker.write_text(json.dumps({"flowise": "3.1.4", "node": "v24.9.9"}))
    worker = install.node_modules / "flowise" / "dist" / "commands" / "worker.js"
    worker.parent.mkdir(parents=True, exist_ok=True)
    worker.write_text("")
    monkeypatch.setattr(run, "_start_llm", lambda group, logs, measure: "http://127.0.0.1:9/v1")
    monkeypatch.setattr(services.shutil, "which", lambda name, path=None: None)
    lines: list[str] = []
    options = run.RunOptions(cache_dir=tmp_path / "cache", report_dir=tmp_path / "out", suite=False, fidelity=False,
                             mode="queue")
    assert run.run_reference(options, log=lines.append) == run.EXIT_SERVER
    assert any("apt-get install -y redis-server" in line for line in lines)
    recorded = json.loads((tmp_path / "out" / "run.json").read_text())
    assert recorded["facts"]["configuration"] == {"flowise": "3.1.4", "database": "sqlite", "mode": "queue"}


@pytest.mark.slow
def test_a_real_postgres_and_redis_start_answer_and_leave_nothing(tmp_path: Path) -> None:
    if not (shutil.which("redis-server")):
        pytest.skip("redis-server is not installed (apt-get install -y redis-server)")
    try:
        find_postgres_bin()
    except ServerError:
        pytest.skip("the PostgreSQL server binaries are not installed (apt-get install -y postgresql)")
    postgres, database = services.start_postgres(tmp_path / "logs", log=lambda line: None)
    redis = services.start_redis(tmp_path / "logs")
    try:
        assert database.port != services.redis_port(redis)
        assert postgres.running() and redis.running()
    finally:
        redis.stop()
        postgres.stop()
    for process in (postgres, redis):
        assert not process.running()
        assert process.pid is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(process.pid, 0)
        assert all(not folder.exists() for folder in process.owned_dirs)
