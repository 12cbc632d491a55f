"""What every test under tests/ shares: a hermetic environment and the two tiers.

Hermetic: the mock, the suite and the load tool read their configuration from the environment
(``MOCK_*``, ``FLOWISE_*``, ``CORS_*``, ``PORT``; schemathesis reads ``SCHEMATHESIS_*``, locust
``LOCUST_*``), and tox forwards ``FLOWISE_*`` and ``MOCK_*`` from the developer's shell. So that a
shell's ``MOCK_QUIRKS=flowise-3.1`` or ``FLOWISE_FILE_SIZE_LIMIT=1kb`` cannot change an outcome, those
variables are removed from this process's environment as soon as this file is loaded, before any test
(or xdist worker, or server a test starts) is created; child processes inherit the cleaned environment.
A test that needs one sets it itself (``monkeypatch.setenv``, or ``env=`` of the process it starts).

Tiers: tests marked ``slow`` (whole suite runs, wheel builds, real server processes) are left out of a
plain ``python -m pytest``; ``--run-slow`` runs them too. An explicit ``-m`` expression decides on its
own (``-m slow`` runs only them). CI (``.ci/run``) runs everything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

import pytest

CONFIG_PREFIXES = ("MOCK_", "FLOWISE_", "CORS_", "SCHEMATHESIS_", "LOCUST_")
CONFIG_NAMES = frozenset({"PORT"})


def configuring(env: Mapping[str, str]) -> list[str]:
    """The names in ``env`` that would configure the mock, the suite, schemathesis or locust."""
    return sorted(name for name in env if name.startswith(CONFIG_PREFIXES) or name in CONFIG_NAMES)


def make_hermetic(env: MutableMapping[str, str]) -> list[str]:
    """Drop the configuring variables from ``env``; return their names."""
    names = configuring(env)
    for name in names:
        del env[name]
    return names


DROPPED = make_hermetic(os.environ)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (the default run leaves them out; CI runs them)")


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    if DROPPED:
        lines.append(f"hermetic: ignoring {', '.join(DROPPED)} from the environment")
    if not _runs_slow(config):
        lines.append("fast tier: tests marked slow are deselected (--run-slow runs them)")
    return lines


def _runs_slow(config: pytest.Config) -> bool:
    return bool(config.getoption("run_slow") or config.getoption("markexpr"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _runs_slow(config):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
