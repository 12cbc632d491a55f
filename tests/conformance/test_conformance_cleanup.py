"""What the run created is deleted at the end, also after a failure and after Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

from conformance_harness import run_suite
from fakeflowise import API_KEY, Breakage, serving

from conformance.probe import absent_id

INTERRUPTER = '''
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    raise KeyboardInterrupt
'''


def deleted_chatflows(log: list[tuple[str, str]]) -> set[str]:
    return {path.rsplit("/", 1)[-1] for method, path in log if method == "DELETE" and path.startswith("/api/v1/chatflows/")}


def created_ids(report_dir: Path) -> set[str]:
    ledger = json.loads((report_dir / "ledger.json").read_text())
    return {entry["id"] for entry in ledger["removed"] + ledger["remaining"] if entry["kind"] == "chatflow"}


def test_cleanup_after_a_failure(tmp_path: Path) -> None:
    log: list[tuple[str, str]] = []
    with serving(Breakage(answer_without_message_id=True), log=log) as url:
        run = run_suite(url, ["semantics/test_prediction.py::test_answer_keys_and_order"], tmp_path, api_key=API_KEY, extra=["-x"])
    assert run.returncode == 1
    created = created_ids(tmp_path)
    assert created and created <= deleted_chatflows(log)
    assert json.loads((tmp_path / "ledger.json").read_text())["remaining"] == []


def test_cleanup_after_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "interrupter.py").write_text(INTERRUPTER)
    log: list[tuple[str, str]] = []
    with serving(log=log) as url:
        run = run_suite(
            url,
            ["semantics/test_crud.py"],
            tmp_path / "report",
            api_key=API_KEY,
            extra=["-p", "interrupter"],
            pythonpath=tmp_path,
        )
    assert run.returncode == 2, run.output[-2000:]  # pytest's "interrupted"
    created = created_ids(tmp_path / "report")
    assert created and created <= deleted_chatflows(log)


def test_only_what_the_run_created_is_deleted(tmp_path: Path) -> None:
    """Besides its own resources, the run deletes only the id it derives to name nothing (asking
    whether its key may delete chatflows before it creates one)."""
    log: list[tuple[str, str]] = []
    with serving(Breakage(delete_keeps_resource=True), log=log) as url:
        run = run_suite(url, ["semantics/test_crud.py::test_lifecycle[chatflow]"], tmp_path, api_key=API_KEY)
    absent = absent_id(run.results["run_id"], "chatflow")
    assert deleted_chatflows(log) - {absent} <= created_ids(tmp_path)
    assert absent not in created_ids(tmp_path)
