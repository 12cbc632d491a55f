"""Fixtures for the reference harness's tests: a fake Flowise on a loopback port (no real server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_flowise import FakeFlowise


@pytest.fixture
def fake() -> Iterator[FakeFlowise]:
    with FakeFlowise() as server:
        yield server
