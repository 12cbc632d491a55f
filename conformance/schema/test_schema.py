"""Schema conformance: every spec operation, judged by schemathesis' and the suite's checks.

The engine runs once per session (first test that needs it); each test below reads its verdict.
The per-(operation, check) outcomes behind the verdicts go to the reports directly, so these items
are marked `aggregate` and add no outcome of their own.
"""

from __future__ import annotations

import pytest

from conformance.outcomes import Status

pytestmark = pytest.mark.flowise(aggregate=True)

PHASES = ("examples", "coverage", "fuzzing", "stateful")


def test_operation_conforms(flowise_schema_run, spec_operation, flowise_profile) -> None:
    """All checks hold for every request schemathesis sent to this operation."""
    verdict = flowise_schema_run.verdict(spec_operation.operation_id)
    if verdict.status is Status.SKIP:
        pytest.skip(verdict.message)
    if verdict.status is Status.FAIL:
        pytest.fail(verdict.message, pytrace=False)
    if verdict.status is Status.DEVIATION:
        if flowise_profile.strict:
            pytest.fail(f"--strict: {verdict.message}", pytrace=False)
        pytest.xfail(verdict.message)


@pytest.mark.parametrize("phase", PHASES)
def test_phase_ran(flowise_schema_run, phase: str) -> None:
    """Each phase ran to its end: a phase that errored or was skipped tested nothing."""
    status = flowise_schema_run.phases.get(phase)
    if status is None:
        pytest.fail(f"schemathesis reported nothing for the {phase} phase", pytrace=False)
    if status.startswith("skip"):
        pytest.skip(f"schemathesis skipped the {phase} phase: {status}")
    if status.startswith(("error", "interrupted")):
        pytest.fail(f"the {phase} phase ended with {status}", pytrace=False)
