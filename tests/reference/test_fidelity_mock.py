"""The fidelity comparison end to end on flowise-mock processes: no false differences, planted ones found.

Three mocks on loopback ports (two plain, one with `--quirks flowise-3.1`) get the same set-up and the
same script as a real Flowise would. Two identical mocks must agree on every exchange (ids, dates and
token counts must not show up as differences); the quirky one must be reported where it departs; and
a single status changed by hand must be reported on exactly that row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.reference.exchanges import SCRIPT, ExchangeResult, run_script
from conformance.reference.fidelity import Column, compare_targets
from conformance.reference.fidelity_report import write_fidelity
from conformance.reference.server import ManagedProcess, ProcessGroup, start_mock, wait_until_ready
from conformance.reference.targets import prepare_target

KEY = "sk-fidelity-test"
pytestmark = pytest.mark.slow  # three mocks and the whole exchange script against two of them


@pytest.fixture(scope="module")
def mocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ManagedProcess]]:
    logs = tmp_path_factory.mktemp("mock-logs")
    with ProcessGroup(log=lambda _: None) as group:
        started = {
            "plain": group.add(start_mock("plain", log_dir=logs, extra=["--api-key", KEY, "--fast"])),
            "twin": group.add(start_mock("twin", log_dir=logs, extra=["--api-key", KEY, "--fast"])),
            "quirks": group.add(start_mock("quirks", log_dir=logs, extra=["--api-key", KEY, "--fast", "--quirks", "flowise-3.1"])),
        }
        for process in started.values():
            wait_until_ready(process, "/api/v1/ping", timeout=60)
        yield started


@pytest.fixture(scope="module")
def results(mocks: dict[str, ManagedProcess]) -> dict[str, list[ExchangeResult]]:
    llm = mocks["plain"].url + "/v1"
    return {
        label: run_script(prepare_target(label, process.url, full_key=KEY, llm_basepath=llm))
        for label, process in mocks.items()
    }


def test_two_identical_mocks_agree_on_every_exchange(results: dict[str, list[ExchangeResult]]) -> None:
    fidelity = compare_targets(SCRIPT, Column("plain", results["plain"], False), [Column("twin", results["twin"], False)])
    differing = {row.step.name: [str(d) for d in row.verdicts["twin"].differences] for row in fidelity.rows
                 if row.verdicts["twin"].label != "agree"}
    assert differing == {}
    assert len(fidelity.rows) == len(SCRIPT)


def test_the_quirky_mock_is_reported_where_it_departs(results: dict[str, list[ExchangeResult]], tmp_path: Path) -> None:
    fidelity = compare_targets(SCRIPT, Column("plain", results["plain"], False), [Column("quirks", results["quirks"], True)])
    rows = {row.step.name: row for row in fidelity.rows}
    departed = rows["chatflow: delete missing"].verdicts["quirks"]
    assert departed.label == "differ"
    assert "status: 404 vs 500" in [str(d) for d in departed.differences]
    assert rows["ping"].verdicts["quirks"].label == "agree"
    assert fidelity.counts("quirks")["differ"] >= 3
    markdown = write_fidelity(fidelity, tmp_path)["markdown"].read_text()
    assert "differ" in markdown and "chatflow: delete missing" in markdown


def test_one_planted_status_change_is_found_on_that_row_only(results: dict[str, list[ExchangeResult]]) -> None:
    planted = list(results["twin"])
    index = next(i for i, step in enumerate(SCRIPT) if step.name == "tool: get")
    planted[index] = dataclasses.replace(planted[index], status=503)
    fidelity = compare_targets(SCRIPT, Column("plain", results["plain"], False), [Column("planted", planted, False)])
    differing = [row.step.name for row in fidelity.rows if row.verdicts["planted"].label != "agree"]
    assert differing == ["tool: get"]
    assert [str(d) for d in fidelity.rows[index].verdicts["planted"].differences] == ["status: 200 vs 503"]
