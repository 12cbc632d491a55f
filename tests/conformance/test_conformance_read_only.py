"""A --read-only run sends no writing request at all, through both layers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_harness import run_suite
from fakeflowise import API_KEY, serving


@pytest.mark.slow
def test_read_only_sends_only_reads(tmp_path: Path) -> None:
    log: list[tuple[str, str]] = []
    with serving(log=log) as url:
        run = run_suite(
            url,
            ["semantics", "schema/test_schema.py::test_operation_conforms"],
            tmp_path,
            api_key=API_KEY,
            extra=["--flowise-read-only", "--flowise-examples", "2", "--flowise-only", "chatflows,version,ping"],
        )
    methods = {method for method, _ in log}
    assert log, "the run sent nothing"
    assert methods <= {"GET", "HEAD", "OPTIONS", "TRACE"}, sorted({entry for entry in log if entry[0] not in {"GET", "HEAD", "OPTIONS", "TRACE"}})
    skipped = {o["check"] for o in run.outcomes("skip")}
    assert "lifecycle" in skipped and "rate_limit_is_enforced" in skipped, skipped
    assert any("--read-only" in o["message"] for o in run.outcomes("skip"))
