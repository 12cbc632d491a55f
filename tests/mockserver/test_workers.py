"""``--workers N``: several processes on one port and one database file, still one consistent Flowise."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from contract.process import ManagedProcess, free_port, mock_env, start_server
from mockserver.cli import main as mock_main
from mockserver.store.db import new_id

ADMIN = "workers-admin-key-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
#: A new connection per request, so the kernel spreads the requests over the workers.
CLOSE = {"Connection": "close"}


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    tmp = tmp_path_factory.mktemp("workers")
    port = free_port()
    argv = [sys.executable, "-m", "mockserver.cli", "--port", str(port), "--db", str(tmp / "mock.db"),
            "--api-key", ADMIN, "--workers", "2", "--fast",
            "--header-timeout", "1"]  # not --quiet: the workers' request lines are checked
    with start_server("flowise-mock", argv, port=port, log_path=tmp / "mock.log", env=mock_env()) as process:
        yield process


def workers_of(process: ManagedProcess) -> list[int]:
    """The pids of the supervisor's server processes (spawned interpreters, not the resource tracker)."""
    assert process.pid is not None
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == process.pid and b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_every_worker_serves_and_ids_stay_unique_across_them(mock: ManagedProcess) -> None:
    workers = workers_of(mock)
    assert len(workers) == 2, f"expected 2 worker processes under {mock.pid}, found {workers}"
    with httpx.Client(base_url=mock.url + "/api/v1", timeout=30) as client:
        flow = client.post("/chatflows", headers=AUTH, json={
            "name": "workers", "type": "CHATFLOW", "flowData": '{"nodes":[],"edges":[]}'}).json()["id"]
    before = {pid: cpu_ticks(pid) for pid in workers}

    def predict(i: int) -> dict[str, str]:
        answer = httpx.post(f"{mock.url}/api/v1/prediction/{flow}", headers=CLOSE, timeout=30,
                            json={"question": f"question {i}"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return {"message": body["chatMessageId"], "chat": body["chatId"]}

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(predict, range(120)))
    assert len({a["message"] for a in answers}) == 120
    assert len({a["chat"] for a in answers}) == 120
    busy = [pid for pid in workers if cpu_ticks(pid) > before[pid]]
    assert sorted(busy) == sorted(workers), "one worker served nothing: the requests were not spread"
    with httpx.Client(base_url=mock.url + "/api/v1", timeout=30) as client:
        stored = client.get(f"/chatmessage/{flow}", headers=AUTH).json()
    assert len(stored) == 240  # the question and the answer of each prediction, from both processes
    assert len({row["id"] for row in stored}) == 240
    logged = mock.log_path.read_text()
    assert logged.count(f"POST /api/v1/prediction/{flow} 200") == 120  # each worker logs its requests


def test_a_revoked_key_is_refused_by_every_worker(mock: ManagedProcess) -> None:
    with httpx.Client(base_url=mock.url + "/api/v1", timeout=30) as admin:
        created = admin.post("/apikey", headers=AUTH,
                             json={"keyName": "revoked-soon", "permissions": ["chatflows:view"]}).json()
        key = next(row for row in created if row["keyName"] == "revoked-soon")

    def status(_: int) -> int:
        return httpx.get(f"{mock.url}/api/v1/chatflows", timeout=30,
                         headers={**CLOSE, "Authorization": f"Bearer {key['apiKey']}"}).status_code

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(status, range(40))) == {200}  # every worker has the key cached now
        with httpx.Client(base_url=mock.url + "/api/v1", timeout=30) as admin:
            assert admin.delete(f"/apikey/{key['id']}", headers=AUTH).status_code == 200
        assert set(pool.map(status, range(40))) == {401}


def test_workers_refuse_an_in_memory_database(capsys: pytest.CaptureFixture[str]) -> None:
    assert mock_main(["--workers", "2", "--db", ":memory:"]) == 2
    assert "needs a database file" in capsys.readouterr().err


def test_a_forked_process_draws_other_ids_than_its_parent() -> None:
    new_id()  # the parent's pool now holds random bytes a forked child would inherit
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its first ids, then out without running any test machinery
        os.write(write, ",".join(new_id() for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split(","))
    os.waitpid(pid, 0)
    parent = {new_id() for _ in range(3)}
    assert len(child) == 3 and not child & parent


def test_each_worker_keeps_the_header_deadline(mock: ManagedProcess) -> None:
    """The settings reach the spawned workers: a client trickling its headers is cut after --header-timeout."""
    host, port = mock.url.removeprefix("http://").split(":")
    for _ in range(4):  # several connections, so both workers are asked
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            assert conn.recv(1024) == b""  # closed by the server, no answer
            assert time.monotonic() - started < 8  # 1 s configured; the default would be 10 s
