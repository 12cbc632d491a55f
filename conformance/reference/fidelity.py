"""Put the results of one script on several targets side by side, one row per exchange.

The real Flowise is the reference column. For each row the deviations the step is tagged with are
checked against the real answer with the suite's own catalogue (`conformance/deviations.toml`), so
the report also says, deviation by deviation, whether the real server still shows it: confirmed
(the catalogue recognises the answer) or refuted (the real server answered otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources

from conformance.exchange import Exchange
from conformance.reference.differ import Verdict, verdict
from conformance.reference.exchanges import ExchangeResult, Step
from conformance.reference.normalise import Normalised, normalise
from contract.deviations import Deviations, load_deviations

__all__ = [
    "Column",
    "Fidelity",
    "Row",
    "as_exchange",
    "compare_targets",
    "confirm_deviations",
    "proposed_deviations",
    "reference_catalogue",
]


@dataclass(frozen=True)
class Column:
    """One compared target: its label, its results, and whether it was asked to reproduce quirks."""

    label: str
    results: Sequence[ExchangeResult]
    quirks: bool


@dataclass
class Row:
    step: Step
    reference: ExchangeResult
    normalised: dict[str, Normalised]
    results: dict[str, ExchangeResult]
    verdicts: dict[str, Verdict]
    confirmed: tuple[str, ...]


@dataclass
class Fidelity:
    reference: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)

    def counts(self, label: str) -> dict[str, int]:
        tally = {"agree": 0, "documented": 0, "differ": 0}
        for row in self.rows:
            tally[row.verdicts[label].label] += 1
        return tally

    def deviation_status(self) -> dict[str, dict[str, list[str]]]:
        """Per deviation id: the steps that confirmed it and the steps where the real server did not show it."""
        status: dict[str, dict[str, list[str]]] = {}
        for row in self.rows:
            for deviation in row.step.deviations:
                entry = status.setdefault(deviation, {"confirmed": [], "refuted": []})
                entry["confirmed" if deviation in row.confirmed else "refuted"].append(row.step.name)
        return status

    def ok(self) -> bool:
        return all(verdict.ok for row in self.rows for verdict in row.verdicts.values())


def proposed_deviations() -> Deviations:
    """The deviations this harness found that the suite's catalogue does not list yet."""
    text = resources.files("conformance.reference").joinpath("proposed_deviations.toml").read_text("utf-8")
    return Deviations.from_toml(text, source="proposed_deviations.toml")


def reference_catalogue() -> Deviations:
    """The suite's catalogue plus the proposed deviations it lacks (the catalogue's entry wins)."""
    catalogue = load_deviations()
    extra = [deviation for deviation in proposed_deviations() if deviation.id not in catalogue.ids]
    return Deviations([*catalogue, *extra])


def as_exchange(result: ExchangeResult) -> Exchange:
    """The suite's report record for one result (what its deviation catalogue matches on)."""
    return Exchange.build(
        method=result.method,
        url=result.path,
        request_body=result.request_body,
        status=result.status,
        response_headers=result.headers,
        response_body=result.body,
        elapsed=result.elapsed,
        error=result.error,
    )


def confirm_deviations(step: Step, result: ExchangeResult, catalogue: Deviations) -> tuple[str, ...]:
    """The tagged deviations the catalogue recognises in the real answer to `step`."""
    if not step.deviations:
        return ()
    exchange = as_exchange(result)
    return tuple(deviation.id for deviation in catalogue if deviation.id in step.deviations and any(
        match.fits(check=step.check, operation=step.operation, exchange=exchange) for match in deviation.matches))


def compare_targets(
    steps: Sequence[Step],
    reference: Column,
    others: Sequence[Column],
    *,
    catalogue: Deviations | None = None,
) -> Fidelity:
    """Row by row: normalise every target's result and judge each other target against the reference."""
    catalogue = catalogue or reference_catalogue()
    fidelity = Fidelity(reference=reference.label, columns=[reference, *others])
    by_label: Mapping[str, Sequence[ExchangeResult]] = {column.label: column.results for column in fidelity.columns}
    for index, step in enumerate(steps):
        real = reference.results[index]
        normalised = {label: normalise(results[index]) for label, results in by_label.items()}
        confirmed = confirm_deviations(step, real, catalogue)
        verdicts = {
            column.label: verdict(
                normalised[reference.label],
                normalised[column.label],
                deviations=step.deviations,
                quirks=column.quirks,
                confirmed=confirmed,
            )
            for column in others
        }
        fidelity.rows.append(
            Row(
                step=step,
                reference=real,
                normalised=normalised,
                results={label: results[index] for label, results in by_label.items()},
                verdicts=verdicts,
                confirmed=confirmed,
            )
        )
    return fidelity
