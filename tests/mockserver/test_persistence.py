"""Durability through a real ``flowise-mock`` process: restart and ``kill -9`` lose no acknowledged write."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conformance.embedded import free_port
from mockserver.store.db import new_id

KEY = "persist-admin-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def start(db: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver.cli", "--host", "127.0.0.1", "--port", str(port), "--db", str(db),
         "--api-key", KEY, "--fast", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"flowise-mock exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/ping", timeout=1).text == "pong":
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("flowise-mock did not start in 30 s")


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGKILL) -> int:
    """Send ``sig``, wait for the exit and close the stderr pipe; return the exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=15)
    finally:
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "mock.db"


def test_restart_serves_everything_created_before(db: Path) -> None:
    port = free_port()
    proc = start(db, port)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        flow = httpx.post(f"{base}/chatflows", headers=AUTH, json={
            "name": "kept", "type": "CHATFLOW", "flowData": '{"nodes":[],"edges":[]}'}).json()
        var = httpx.post(f"{base}/variables", headers=AUTH, json={"name": "kept", "value": "1", "type": "static"}).json()
    finally:
        assert stop(proc, signal.SIGTERM) == 0
    proc = start(db, port)
    try:
        assert httpx.get(f"{base}/chatflows/{flow['id']}", headers=AUTH).json()["name"] == "kept"
        assert var["id"] in [v["id"] for v in httpx.get(f"{base}/variables", headers=AUTH).json()]
    finally:
        stop(proc)


def test_kill_9_mid_writes_loses_no_acknowledged_write(db: Path) -> None:
    port = free_port()
    proc = start(db, port)
    base = f"http://127.0.0.1:{port}/api/v1"
    acknowledged: list[str] = []
    done = threading.Event()

    def writer() -> None:
        with httpx.Client(headers=AUTH, timeout=5) as client:
            i = 0
            while not done.is_set():
                try:
                    r = client.post(f"{base}/variables", json={"name": f"v{i}", "value": str(i), "type": "static"})
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    acknowledged.append(r.json()["id"])
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 30 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop(proc, signal.SIGKILL)
    done.set()
    thread.join(timeout=10)
    assert len(acknowledged) >= 30, "the writer made too little progress before the kill"
    proc = start(db, port)
    try:
        stored = {v["id"] for v in httpx.get(f"{base}/variables", headers=AUTH).json()}
        lost = [i for i in acknowledged if i not in stored]
        assert not lost, f"{len(lost)} acknowledged writes lost after kill -9"
    finally:
        stop(proc)


def test_new_ids_are_distinct_version_4_uuids_across_pool_refills() -> None:
    ids = [new_id() for _ in range(1000)]  # 16 bytes each: several refills of the 4 KiB pool
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
