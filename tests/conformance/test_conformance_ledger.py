"""The ledger: records what the run made, owns only that, deletes it newest first, whatever fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.ledger import Ledger, new_run_id


def test_names_carry_the_run_prefix() -> None:
    ledger = Ledger("20260101-abc123")
    assert ledger.name("tool") == "conformance-20260101-abc123-tool"
    assert ledger.is_ours_name("conformance-20260101-abc123-x")
    assert not ledger.is_ours_name("conformance-20260101-other-x")
    assert not ledger.is_ours_name(None)


def test_run_ids_are_valid_and_unique() -> None:
    first, second = new_run_id(), new_run_id()
    Ledger(first)
    assert first != second
    with pytest.raises(ValueError):
        Ledger("Bad Id!")


def test_owns_records_and_claims() -> None:
    ledger = Ledger("run-1")
    ledger.record("chatflow", "id-1", "/chatflows/id-1")
    ledger.record("chatflow", "id-1", "/chatflows/id-1")
    ledger.claim("chat-9")
    assert len(ledger) == 1
    assert ledger.owns("id-1") and ledger.owns("id-1", kind="chatflow") and not ledger.owns("id-1", kind="tool")
    assert ledger.owns("chat-9") and not ledger.owns("someone-else")
    ledger.forget("chatflow", "id-1")
    assert len(ledger) == 0 and ledger.owns("id-1"), "what the run made stays its own after deletion"


def test_cleanup_is_reverse_and_survives_failures(tmp_path: Path) -> None:
    ledger = Ledger("run-2", path=tmp_path / "ledger.json")
    for index in range(4):
        ledger.record("tool", f"t{index}", f"/tools/t{index}")
    order: list[str] = []

    def delete(entry):  # type: ignore[no-untyped-def]
        order.append(entry.id)
        if entry.id == "t2":
            raise RuntimeError("network down")
        return {"t1": 500, "t0": 404}.get(entry.id, 200)

    results = ledger.cleanup(delete)
    assert order == ["t3", "t2", "t1", "t0"]
    assert [result.ok for result in results] == [True, False, False, True]
    assert [entry.id for entry in ledger.entries] == ["t1", "t2"]
    saved = json.loads((tmp_path / "ledger.json").read_text())
    assert [entry["id"] for entry in saved["remaining"]] == ["t1", "t2"]
    assert {entry["id"] for entry in saved["removed"]} == {"t0", "t3"}
