"""free_port never hands out the same port twice in one process, whatever the kernel offers."""

from __future__ import annotations

from typing import Any

import pytest

from contract import process


def test_a_port_offered_again_is_not_handed_out_again(monkeypatch: pytest.MonkeyPatch) -> None:
    offers = iter([61001, 61001, 61001, 61002])

    class FakeSocket:
        def __init__(self, *args: Any) -> None:
            self.port = 0

        def __enter__(self) -> FakeSocket:
            return self

        def __exit__(self, *args: Any) -> None:
            pass

        def bind(self, address: tuple[str, int]) -> None:
            self.port = next(offers)

        def getsockname(self) -> tuple[str, int]:
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(process, "_HANDED_OUT", set())
    monkeypatch.setattr(process.socket, "socket", FakeSocket)
    assert process.free_port() == 61001
    assert process.free_port() == 61002  # the kernel offered 61001 twice more: both refused


def test_real_ports_are_distinct() -> None:
    ports = [process.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
