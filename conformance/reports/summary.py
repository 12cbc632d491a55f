"""What an operator reads first: the target, its version and profile, the path to it, a verdict per area.

The matrix of operation × check answers "which check failed where"; an operator deciding whether a
deployment is healthy asks "do auth, CRUD, predictions, streaming, limits and the deployment itself
work?". Each outcome belongs to one area, chosen from its layer, its check and the module it came
from; an area fails when any of its outcomes fails the run, warns when the proxy in front did
something that harms clients, and is "not tested" when everything in it was skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from conformance.outcomes import Outcome, RunReport, Status

__all__ = ["AREAS", "AreaVerdict", "area_of", "area_verdicts"]

AREAS = ("auth", "CRUD", "predictions", "streaming", "limits", "deployment")

_BY_MODULE = {
    "test_auth": "auth",
    "test_deployment": "deployment",
    "test_streaming": "streaming",
    "test_limits": "limits",
    "test_ratelimit": "limits",
    "test_prediction": "predictions",
    "test_memory": "predictions",
    "test_branching": "predictions",
    "test_human_input": "predictions",
    "test_vectors": "predictions",
}
_AUTH_WORDS = ("unauthorized", "forbidden", "permission", "auth", "apikey", "api_key")
_PREDICTION_OPS = ("createPrediction", "vectorUpsert", "createAttachment", "abortChatMessage")


def area_of(outcome: Outcome) -> str:
    """The area an outcome speaks for (see the module docstring)."""
    source = outcome.source or ""
    for module, area in _BY_MODULE.items():
        if f"{module}.py" in source:
            return area
    check = outcome.check.lower()
    if outcome.layer == "permissions" or any(word in check for word in _AUTH_WORDS):
        return "auth"
    if outcome.status is Status.PROXY and outcome.deviation is not None and outcome.deviation.id.startswith("proxy-"):
        if outcome.deviation.id == "proxy-headers" and "sse" in check:
            return "streaming"
    if "sse" in check or "stream" in check:
        return "streaming"
    if "413" in check or "body" in check and "limit" in check or "rate" in check:
        return "limits"
    if outcome.operation in _PREDICTION_OPS or outcome.operation.startswith(("prediction", "feedback", "memory")):
        return "predictions"
    return "CRUD"


@dataclass(frozen=True, slots=True)
class AreaVerdict:
    area: str
    #: "pass", "fail", "warning", or "not tested"
    verdict: str
    counts: dict[str, int]
    #: The first failures (or warnings) in the area, for the summary line.
    highlights: tuple[str, ...]


def _warning(outcome: Outcome) -> bool:
    summary = outcome.deviation.summary if outcome.deviation is not None else ""
    return outcome.status is Status.PROXY and (summary.startswith("warning") or outcome.message.startswith("warning"))


def area_verdicts(report: RunReport) -> list[AreaVerdict]:
    grouped: dict[str, list[Outcome]] = {area: [] for area in AREAS}
    for outcome in report.outcomes:
        grouped.setdefault(area_of(outcome), []).append(outcome)
    verdicts = []
    for area, outcomes in grouped.items():
        counts = dict(Counter(outcome.status.value for outcome in outcomes))
        failed = [o for o in outcomes if o.fails_run(strict=report.strict)]
        warnings = [o for o in outcomes if _warning(o)]
        if failed:
            verdict, shown = "fail", failed
        elif warnings:
            verdict, shown = "warning", warnings
        elif any(o.status in (Status.PASS, Status.DEVIATION, Status.PROXY) for o in outcomes):
            verdict, shown = "pass", []
        else:
            verdict, shown = "not tested", []
        highlights = tuple(f"{o.operation} · {o.check}: {o.message[:160]}" for o in shown[:3])
        verdicts.append(AreaVerdict(area=area, verdict=verdict, counts=counts, highlights=highlights))
    return verdicts
