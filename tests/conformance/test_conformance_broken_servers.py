"""The suite proves it can fail: small servers that each break one thing, and the check that says so.

`fakeflowise` conforms for the modules run here (the first test shows it passes clean); every other
case injects one defect and expects the named check to fail, through the same plugin, preflight,
classification and reports an operator gets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance_harness import run_suite
from fakeflowise import API_KEY, Breakage, serving

SEMANTICS = [
    "semantics/test_crud.py::test_lifecycle[chatflow]",
    "semantics/test_prediction.py::test_answer_keys_and_order",
    "semantics/test_streaming.py",
    "semantics/test_auth.py::test_anonymous_is_refused[listChatflows]",
    "semantics/test_not_found.py::test_unknown_id_is_404[getChatflowById]",
]


def test_a_conforming_server_passes(tmp_path: Path) -> None:
    with serving() as url:
        run = run_suite(url, SEMANTICS, tmp_path, api_key=API_KEY)
    assert run.returncode == 0, run.output[-3000:]
    assert not run.outcomes("fail") and len(run.outcomes("pass")) >= 10


@pytest.mark.parametrize(
    ("breakage", "modules", "caught"),
    [
        pytest.param(
            Breakage(unknown_id_status=200),
            ["semantics/test_not_found.py::test_unknown_id_is_404[getChatflowById]"],
            ("getChatflowById", "unknown_id_is_404"),
            id="wrong-status",
        ),
        pytest.param(
            Breakage(answer_without_message_id=True),
            ["semantics/test_prediction.py::test_answer_keys_and_order"],
            ("createPrediction", "answer_has_required_keys"),
            id="missing-required-field",
        ),
        pytest.param(
            Breakage(sse_space_after_data=True),
            ["semantics/test_streaming.py::test_stream_frames"],
            ("createPrediction", "frames_use_flowise_wire_format"),
            id="wrong-sse-frame",
        ),
        pytest.param(
            Breakage(sse_without_end=True),
            ["semantics/test_streaming.py::test_stream_event_order"],
            ("createPrediction", "events_follow_flowise_order"),
            id="missing-end",
        ),
        pytest.param(
            Breakage(auth_bypass=True),
            ["semantics/test_auth.py::test_anonymous_is_refused[listChatflows]"],
            ("listChatflows", "anonymous_is_refused"),
            id="auth-bypass",
        ),
        pytest.param(
            Breakage(delete_keeps_resource=True),
            ["semantics/test_crud.py::test_lifecycle[chatflow]"],
            ("deleteChatflow", "deleted_resource_is_gone"),
            id="still-present-after-delete",
        ),
    ],
)
def test_each_defect_is_caught(breakage: Breakage, modules: list[str], caught: tuple[str, str], tmp_path: Path) -> None:
    with serving(breakage) as url:
        run = run_suite(url, modules, tmp_path, api_key=API_KEY)
    assert run.returncode == 1, run.output[-3000:]
    assert caught in run.failed_checks(), run.failed_checks()
    failure = next(o for o in run.outcomes("fail") if (o["operation"], o["check"]) == caught)
    assert failure["exchange"]["curl"].startswith("curl "), "a failure shows the request as curl"
    assert API_KEY not in (tmp_path / "results.json").read_text(), "the key never reaches a report"


@pytest.mark.slow
@pytest.mark.parametrize(("breakage", "expected_status"), [(Breakage(), "pass"), (Breakage(version_500=True), "fail")])
def test_schema_layer_catches_a_500(breakage: Breakage, expected_status: str, tmp_path: Path) -> None:
    """schemathesis over the `version` tag only: a 500 fails `not_a_server_error`, a clean server passes."""
    with serving(breakage) as url:
        run = run_suite(
            url,
            ["schema/test_schema.py::test_operation_conforms"],
            tmp_path,
            api_key=API_KEY,
            extra=["--flowise-only", "version", "--flowise-examples", "5"],
        )
    checks = {o["check"]: o["status"] for o in run.outcomes() if o["operation"] == "getVersion"}
    assert checks.get("not_a_server_error") == expected_status, (checks, run.output[-2000:])
    assert run.returncode == (0 if expected_status == "pass" else 1), run.output[-2000:]
