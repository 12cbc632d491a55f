"""Process handling: start on loopback, wait, stop by pid (children included), Flowise's environment."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from conformance.reference.install import Installation
from conformance.reference.server import (
    LOOPBACK,
    ManagedProcess,
    ProcessGroup,
    ServerError,
    flowise_env,
    free_port,
    mock_command,
    wait_until_ready,
)

SERVE = """
import http.server, socketserver, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # a child, as node may have
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"pong")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie awaiting its parent is dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().split(") ", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    assert 1024 < port < 65536


def test_a_process_is_waited_for_and_stopped_with_its_children(tmp_path: Path) -> None:
    port = free_port()
    process = ManagedProcess("serve", [sys.executable, "-c", SERVE, str(port)], f"http://{LOOPBACK}:{port}", tmp_path / "serve.log")
    with ProcessGroup(log=lambda _: None) as group:
        group.add(process.start())
        assert wait_until_ready(process, "/", timeout=20) < 20
        pid = process.pid
        assert pid is not None
        deadline = time.monotonic() + 5
        while len(_group_members(pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_group_members(pid)) == 2
    assert not _alive(pid)
    assert _group_members(pid) == []


def test_a_process_that_dies_fails_the_wait_at_once_with_its_log(tmp_path: Path) -> None:
    process = ManagedProcess(
        "broken", [sys.executable, "-c", "print('cannot start: spec error'); raise SystemExit(2)"], "http://127.0.0.1:9", tmp_path / "b.log"
    ).start()
    started = time.monotonic()
    with pytest.raises(ServerError, match="(?s)broken exited.*cannot start: spec error"):
        wait_until_ready(process, "/", timeout=30)
    assert time.monotonic() - started < 10
    process.stop()


def test_flowise_environment_is_isolated_and_offline_ready(tmp_path: Path) -> None:
    install = Installation(tmp_path / "cache")
    env = flowise_env(install, tmp_path / "data", 3456, base={"PATH": "/usr/bin", "HOME": "/root", "FLOWISE_URL": "x"})
    assert env["HOME"] == str(tmp_path / "data" / "home")
    for name in ("DATABASE_PATH", "SECRETKEY_PATH"):
        assert env[name] == str(tmp_path / "data")
    assert env["BLOB_STORAGE_PATH"].startswith(str(tmp_path / "data"))
    assert env["LOG_PATH"].startswith(str(tmp_path / "data"))
    assert env["DATABASE_TYPE"] == "sqlite" and env["PORT"] == "3456"
    assert env["DISABLE_FLOWISE_TELEMETRY"] == "true"
    assert env["HTTP_SECURITY_CHECK"] == "false" and env["SECURE_COOKIES"] == "false"
    assert env["APP_URL"] == "http://127.0.0.1:3456"
    assert env["MODEL_LIST_CONFIG_JSON"] == str(install.models_json)
    assert env["NODE_OPTIONS"] == f"--require {install.shim}"
    assert env["PATH"].startswith(str(install.node.parent))
    assert "FLOWISE_URL" not in env


def test_owned_folders_go_with_their_process(tmp_path: Path) -> None:
    owned = tmp_path / "owned"
    owned.mkdir()
    process = ManagedProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(30)"], "http://127.0.0.1:9",
                             tmp_path / "s.log", owned_dirs=[owned]).start()
    process.stop()
    assert not process.running() and not owned.exists()


def test_mock_command_binds_loopback_and_uses_memory() -> None:
    command = mock_command(4567, extra=["--quirks", "flowise-3.1"])
    assert command[:3] == [sys.executable, "-m", "mockserver.cli"]
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[command.index("--db") + 1] == ":memory:"
    assert command[-2:] == ["--quirks", "flowise-3.1"]
