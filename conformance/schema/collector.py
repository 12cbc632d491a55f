"""Turn schemathesis engine events into outcomes: one per (operation, check).

The engine reports per scenario; a reader wants a grid: for each operation, which checks ran and
whether they held. Every check result a scenario recorded is tallied under the operation of the
case it judged; a failure that `deviations.toml` recognises counts as a known deviation. Requests
that never got an answer (timeouts, resets) are failures of `request_completes`: a hung stream
must fail the run, not stall it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.exchange import Exchange
from conformance.outcomes import DeviationRef, Outcome, Status
from conformance.spec import SpecIndex
from contract.deviations import Deviations

__all__ = ["EventCollector", "OperationVerdict"]

LAYER = "schema"
NO_LINK_LEFT = "no link left after the --only / --read-only selection"


@dataclass
class _Finding:
    message: str
    exchange: Exchange | None
    deviation: DeviationRef | None
    phase: str
    #: What the proxy in front did, when the failure is its doing (docs/deployment.md).
    proxy: DeviationRef | None = None


@dataclass
class _Tally:
    passed: int = 0
    findings: list[_Finding] = field(default_factory=list)
    phases: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class OperationVerdict:
    """What the schema layer concluded about one operation (drives its pytest item)."""

    status: Status
    message: str


def _exchange(interaction: Any) -> Exchange | None:
    if interaction is None:
        return None
    request, response = interaction.request, interaction.response
    headers = [(name, values[0]) for name, values in (request.headers or {}).items() if values]
    return Exchange.build(
        method=request.method,
        url=request.uri,
        request_headers=headers,
        request_body=request.body,
        status=None if response is None else response.status_code,
        response_headers=()
        if response is None
        else [(name, values[0]) for name, values in (response.headers or {}).items() if values],
        response_body=None if response is None else response.content,
        elapsed=None if response is None else response.elapsed,
    )


class EventCollector:
    """Accumulates engine events; `outcomes()` and `verdict()` read the result."""

    def __init__(self, spec: SpecIndex, deviations: Deviations,
                 attribute: Callable[..., DeviationRef | None] | None = None) -> None:
        self.spec = spec
        self.deviations = deviations
        #: `Deployment.attribute`: tells a failure the proxy in front caused from Flowise's own.
        self.attribute = attribute
        self.tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
        self.skips: dict[str, set[str]] = defaultdict(set)
        self.tested: set[str] = set()
        self.phases: dict[str, str] = {}
        self.scenarios = 0
        self.stop_reason: str | None = None
        self.running_time = 0.0
        #: The last unanswered request per operation (set by the run's `after_network_error` hook).
        self.network_errors: dict[str, Exchange] = {}
        #: Per phase: errors schemathesis tied to an operation (each is that operation's own outcome),
        #: and whether any was not tied to one.
        self.operation_errors: dict[str, int] = defaultdict(int)
        self.run_errors: set[str] = set()
        #: phases that found nothing to run once --only / --read-only had filtered the operations
        self.filtered_out: set[str] = set()
        #: Operations the target refused for want of a permission every time: out of the key's reach.
        self.out_of_reach: dict[str, str] = {}

    # -- names -------------------------------------------------------------------------------------

    def operation_id(self, label: str | None) -> str:
        """`POST /chatflows` → `createChatflow` (labels that are not operations are kept)."""
        if not label or " " not in label:
            return label or "(run)"
        method, path = label.split(" ", 1)
        operation = self.spec.find(method, path)
        return operation.operation_id if operation is not None else label

    # -- events ------------------------------------------------------------------------------------

    def handle(self, event: Any) -> None:
        from schemathesis.engine import Status as EngineStatus
        from schemathesis.engine import events

        if isinstance(event, events.PhaseFinished):
            name = event.phase.name.value
            skip = event.phase.skip_reason
            status = f"{event.status.value}" + (f" ({skip.value})" if skip is not None else "")
            if status == "error" and name not in self.run_errors and self.operation_errors.get(name):
                # The phase ran; some of its requests failed, and each is reported on its operation.
                status = f"ran ({self.operation_errors[name]} request errors, reported per operation)"
            elif status == "error" and name not in self.run_errors and name in self.filtered_out:
                status = f"skipped ({NO_LINK_LEFT})"
            self.phases[name] = status
        elif isinstance(event, events.ScenarioFinished):
            if not event.is_test_scenario:
                return
            self.scenarios += 1
            if event.status == EngineStatus.SKIP and event.label:
                self.skips[self.operation_id(event.label)].add(event.skip_reason or "skipped by schemathesis")
            self._tally(event.recorder, phase=event.phase.value)
        elif isinstance(event, events.FuzzScenarioFinished):
            self.scenarios += 1
            self._tally(event.recorder, phase="fuzz")
        elif isinstance(event, events.NonFatalError):
            self._error(event)
        elif isinstance(event, events.EngineFinished):
            self.stop_reason = event.stop_reason.value
            self.running_time = event.running_time
            for failure in event.failures:
                self._add("(run)", failure.title or "after_run", failure.message, None, "after_run")

    def _tally(self, recorder: Any, *, phase: str) -> None:
        for case_id, checks in recorder.checks.items():
            node = recorder.cases.get(case_id)
            if node is None:
                continue
            operation = self.operation_id(node.value.operation.label)
            self.tested.add(operation)
            for check in checks:
                tally = self.tallies[(operation, check.name)]
                tally.phases.add(phase)
                if check.failure_info is None:
                    tally.passed += 1
                    continue
                failure = check.failure_info.failure
                message = f"{failure.title}: {failure.message}".strip()
                exchange = _exchange(recorder.interactions.get(case_id))
                self._add(operation, check.name, message, exchange, phase)

    def _add(self, operation: str, check: str, message: str, exchange: Exchange | None, phase: str) -> None:
        deviation = self.deviations.classify(check=check, operation=operation, exchange=exchange)
        proxy = None
        if deviation is None and self.attribute is not None:
            proxy = self.attribute(check=check, operation=operation, exchange=exchange, message=message)
        tally = self.tallies[(operation, check)]
        tally.phases.add(phase)
        tally.findings.append(
            _Finding(
                message=message,
                exchange=exchange,
                deviation=None if deviation is None else DeviationRef.of(deviation),
                phase=phase,
                proxy=proxy,
            )
        )

    def _error(self, event: Any) -> None:
        operation = self.operation_id(event.label) if event.related_to_operation else "(run)"
        info = event.info
        text = f"{info.title}: {info.message}" if getattr(info, "title", None) else str(event.value)
        if "excluded by filters" in text:
            # --only or --read-only left no operation a link could start from: nothing to judge.
            self.skips["(stateful)"].add(NO_LINK_LEFT)
            self.filtered_out.add(event.phase.value if event.phase is not None else "stateful")
            return
        exchange = self.network_errors.get(operation) if event.related_to_operation else None
        check = "request_completes" if exchange is not None and exchange.error else "schemathesis_error"
        phase = event.phase.value if event.phase is not None else "run"
        if event.related_to_operation:
            self.operation_errors[phase] += 1
        else:
            self.run_errors.add(phase)
        self._add(operation, check, text[:2000], exchange, phase)

    # -- results -----------------------------------------------------------------------------------

    def outcomes(self) -> list[Outcome]:
        result = []
        for (operation, check), tally in sorted(self.tallies.items()):
            source = "schemathesis:" + ",".join(sorted(tally.phases))
            new = [finding for finding in tally.findings if finding.deviation is None and finding.proxy is None]
            known = [finding for finding in tally.findings if finding.deviation is not None]
            proxied = [finding for finding in tally.findings if finding.proxy is not None]
            if operation in self.out_of_reach and not new and not known:
                continue  # every answer was a refusal: nothing of the operation was judged
            if new:
                first = new[0]
                more = f" ({len(new)} distinct failures)" if len(new) > 1 else ""
                result.append(
                    Outcome(LAYER, operation, check, Status.FAIL, first.message + more, None, first.exchange, 0.0, source)
                )
            elif known:
                first = known[0]
                result.append(
                    Outcome(
                        LAYER, operation, check, Status.DEVIATION, first.message, first.deviation, first.exchange, 0.0, source
                    )
                )
            elif proxied:
                first = proxied[0]
                result.append(
                    Outcome(LAYER, operation, check, Status.PROXY,
                            f"the proxy's doing ({len(proxied)} responses): {first.message}", first.proxy,
                            first.exchange, 0.0, source)
                )
            else:
                result.append(Outcome(LAYER, operation, check, Status.PASS, f"{tally.passed} responses", source=source))
        for operation, reason in sorted(self.out_of_reach.items()):
            result.append(Outcome(LAYER, operation, "schemathesis", Status.SKIP, reason, source="schemathesis"))
        for operation, reasons in sorted(self.skips.items()):
            if operation not in self.tested:
                result.append(
                    Outcome(LAYER, operation, "schemathesis", Status.SKIP, "; ".join(sorted(reasons)), source="schemathesis")
                )
        if self.stop_reason not in (None, "completed"):
            result.append(
                Outcome(LAYER, "(run)", "run_completes", Status.FAIL, f"schemathesis stopped: {self.stop_reason}")
            )
        return result

    def verdict(self, operation: str) -> OperationVerdict:
        mine = [outcome for outcome in self.outcomes() if outcome.operation == operation]
        failed = [outcome for outcome in mine if outcome.status is Status.FAIL]
        if failed:
            return OperationVerdict(
                Status.FAIL, "\n".join(f"{outcome.check}: {outcome.message[:500]}" for outcome in failed)
            )
        deviations = [outcome for outcome in mine if outcome.status is Status.DEVIATION]
        if deviations:
            ids = sorted({outcome.deviation.id for outcome in deviations if outcome.deviation})
            return OperationVerdict(Status.DEVIATION, "known deviations: " + ", ".join(ids))
        if any(outcome.status in (Status.PASS, Status.PROXY) for outcome in mine):
            passed = sum(1 for outcome in mine if outcome.status is Status.PASS)
            proxied = sorted({o.check for o in mine if o.status is Status.PROXY})
            return OperationVerdict(Status.PASS, f"{passed} checks held"
                                    + (f"; the proxy's doing, not judged: {', '.join(proxied)}" if proxied else ""))
        reasons = "; ".join(outcome.message for outcome in mine if outcome.status is Status.SKIP)
        return OperationVerdict(Status.SKIP, reasons or "schemathesis sent no request to this operation")
