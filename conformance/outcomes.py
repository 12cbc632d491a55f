"""Results as data: one `Outcome` per (operation, check), collected into a `RunReport`.

Both layers (schemathesis and the hand-written semantics) produce the same records, and the report
writers take nothing else: they know nothing of pytest, schemathesis or argparse, so each one is
tested from a small fixture. A known upstream deviation is its own status, neither pass nor fail:
it does not fail the run unless the run is strict.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from conformance.exchange import Exchange

if TYPE_CHECKING:
    from contract.deviations import Deviation

__all__ = ["DeviationRef", "Outcome", "RunReport", "Status"]


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    DEVIATION = "deviation"
    SKIP = "skip"
    #: The proxy in front of Flowise answered or changed this (docs/deployment.md): not Flowise's
    #: behaviour, never a failure of the run; its `deviation` says what the proxy did.
    PROXY = "proxy"


@dataclass(frozen=True, slots=True)
class DeviationRef:
    """Which known upstream defect explains a result, and where it is documented."""

    id: str
    reference: str
    summary: str = ""

    @classmethod
    def of(cls, deviation: Deviation) -> DeviationRef:
        """The reference a report gives for an entry of the catalogue."""
        return cls(id=deviation.id, reference=deviation.reference, summary=deviation.summary)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict of one check on one operation (or one semantic area)."""

    layer: str
    operation: str
    check: str
    status: Status
    message: str = ""
    deviation: DeviationRef | None = None
    exchange: Exchange | None = None
    duration: float = 0.0
    #: Where the result came from: a pytest node id, or a schemathesis phase.
    source: str = ""

    def fails_run(self, *, strict: bool) -> bool:
        return self.status is Status.FAIL or (strict and self.status is Status.DEVIATION)

    def to_dict(self) -> dict[str, object]:
        return {
            "layer": self.layer,
            "operation": self.operation,
            "check": self.check,
            "status": self.status.value,
            "message": self.message,
            "deviation": None
            if self.deviation is None
            else {"id": self.deviation.id, "reference": self.deviation.reference, "summary": self.deviation.summary},
            "exchange": None if self.exchange is None else self.exchange.to_dict(),
            "duration": round(self.duration, 4),
            "source": self.source,
        }


@dataclass(slots=True)
class RunReport:
    """Everything a report writer needs about one run."""

    target: str
    run_id: str
    started: str
    finished: str = ""
    strict: bool = False
    read_only: bool = False
    capabilities: dict[str, object] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list)
    #: Extra facts for the reader (spec version, schemathesis artefacts written, cleanup summary).
    notes: dict[str, object] = field(default_factory=dict)
    #: The target as an operator sees it: Flowise version and profile, TLS, HTTP version, proxy in front.
    target_facts: dict[str, object] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counter = Counter(outcome.status.value for outcome in self.outcomes)
        return {status.value: counter.get(status.value, 0) for status in Status}

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.fails_run(strict=self.strict)]

    @property
    def ok(self) -> bool:
        return not self.failed

    def matrix(self) -> tuple[list[str], list[str], dict[tuple[str, str], Status]]:
        """Operation × check grid; a cell holding several outcomes shows the worst of them."""
        rank = {Status.FAIL: 3, Status.DEVIATION: 2, Status.PROXY: 1, Status.PASS: 1, Status.SKIP: 0}
        cells: dict[tuple[str, str], Status] = {}
        for outcome in self.outcomes:
            key = (outcome.operation, outcome.check)
            current = cells.get(key)
            if current is None or rank[outcome.status] > rank[current]:
                cells[key] = outcome.status
        operations = sorted({operation for operation, _ in cells})
        checks = sorted({check for _, check in cells})
        return operations, checks, cells

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "run_id": self.run_id,
            "started": self.started,
            "finished": self.finished,
            "strict": self.strict,
            "read_only": self.read_only,
            "ok": self.ok,
            "counts": self.counts(),
            "capabilities": dict(self.capabilities),
            "target_facts": dict(self.target_facts),
            "notes": dict(self.notes),
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }
