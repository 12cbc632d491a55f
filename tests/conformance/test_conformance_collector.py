"""The schema layer's event collector: a phase whose only errors are requests of known operations
ran (those errors are the operations' own outcomes); an error not tied to an operation fails it."""

from __future__ import annotations

from schemathesis.engine import Status, events
from schemathesis.engine.run import Phase, PhaseName

from conformance.exchange import Exchange
from conformance.outcomes import Status as OutcomeStatus
from conformance.profile import default_spec_path
from conformance.schema.collector import EventCollector
from conformance.spec import load_spec
from contract.deviations import load_deviations


def collector() -> EventCollector:
    return EventCollector(load_spec(default_spec_path()), load_deviations())


def test_a_request_timeout_is_the_operations_outcome_and_the_phase_still_ran() -> None:
    run = collector()
    run.network_errors["createPrediction"] = Exchange.build(
        method="POST", url="http://flowise/api/v1/prediction/x", status=None,
        request_body=b'{"question": "hi", "streaming": true}', error="timeout or connection error after 20.0s")
    run.handle(events.NonFatalError(error=TimeoutError("Read timed out"), phase=PhaseName.FUZZING,
                                    label="POST /prediction/{id}", related_to_operation=True))
    run.handle(events.PhaseFinished(phase=Phase(PhaseName.FUZZING), status=Status.ERROR, payload=None))
    assert not run.phases["fuzzing"].startswith("error"), run.phases
    [outcome] = [o for o in run.outcomes() if o.check == "request_completes"]
    assert outcome.operation == "createPrediction"
    assert outcome.status is OutcomeStatus.DEVIATION and outcome.deviation.id == "stream-error-hang"


def test_an_error_of_the_run_itself_fails_the_phase() -> None:
    run = collector()
    run.handle(events.NonFatalError(error=RuntimeError("schema broke"), phase=PhaseName.FUZZING,
                                    label="(run)", related_to_operation=False))
    run.handle(events.PhaseFinished(phase=Phase(PhaseName.FUZZING), status=Status.ERROR, payload=None))
    assert run.phases["fuzzing"] == "error"


def test_a_stateful_phase_with_no_link_left_by_the_selection_is_skipped_not_failed() -> None:
    run = collector()
    run.handle(events.NonFatalError(error=RuntimeError("All API operations were excluded by filters"),
                                    phase=PhaseName.STATEFUL_TESTING, label="(run)", related_to_operation=False))
    run.handle(events.PhaseFinished(phase=Phase(PhaseName.STATEFUL_TESTING), status=Status.ERROR, payload=None))
    assert run.phases["stateful"].startswith("skipped (no link left"), run.phases
    assert not [o for o in run.outcomes() if o.check == "schemathesis_error"]
