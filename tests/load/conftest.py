"""Fixtures for the load tool's tests: the stub Flowise as a real server on a free loopback port."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from load.target import free_port

HERE = Path(__file__).resolve().parent
STUB = HERE / "stub_server.py"
FIXTURES = HERE / "fixtures"
PROJECT_ROOT = HERE.parent.parent


def stub_command(*flags: str) -> list[str]:
    return [sys.executable, str(STUB), *flags]


StartStub = Callable[..., str]


@pytest.fixture
def start_stub() -> Iterator[StartStub]:
    """Factory: start the stub with flags, wait for ping, return its base URL; every stub is stopped after."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*flags: str) -> str:
        port = free_port()
        process = subprocess.Popen(stub_command("--port", str(port), *flags), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v1/ping", timeout=0.5).status_code == 200:
                    return url
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the stub server did not start")

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def fixtures_dir() -> Path:
    """Small hand-made outputs of a run: metrics.json, locust_stats.csv, locust_stats_history.csv."""
    return FIXTURES


@pytest.fixture
def create_chatflow() -> Callable[..., str]:
    def create(base_url: str, name: str = "load-test", api_key: str | None = None) -> str:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        response = httpx.post(f"{base_url}/api/v1/chatflows", json={"name": name, "flowData": "{}"}, headers=headers)
        response.raise_for_status()
        return response.json()["id"]

    return create
