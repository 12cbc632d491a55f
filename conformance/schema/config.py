"""schemathesis configuration from the target profile, and the spec as schemathesis should read it.

Choices that matter for safety and for a fair verdict:
- every phase runs (examples, coverage, fuzzing, stateful) with positive and negative data;
- undeclared HTTP methods are probed with TRACE only: a real Flowise routes more than the spec
  lists (e.g. `DELETE /executions`), so a generated `DELETE` on an undeclared path could delete
  production data;
- requests time out after `--timeout` (an event stream is read for at most that long in total);
- `--rate-limit` paces schemathesis too; no Hypothesis database is written.
"""

from __future__ import annotations

from typing import Any

from conformance.profile import TargetProfile

__all__ = ["build_config"]

WORKERS = 1


def _default_statuses(check: str) -> list[str]:
    """schemathesis' own expected statuses for a check (`NEGATIVE_DATA_REJECTION`, ...)."""
    from schemathesis.config import _checks

    return list(getattr(_checks, f"{check}_EXPECTED_STATUSES"))


def _rate(requests_per_second: float) -> str:
    if requests_per_second >= 1:
        return f"{int(requests_per_second)}/s"
    return f"{max(1, int(requests_per_second * 60))}/m"


def build_config(profile: TargetProfile, *, seed: int | None = None) -> Any:
    """A `schemathesis.Config` for one run against the profile's target.

    (Predictions reach the chatflow that answers through the write guard, which sends most
    generated `createPrediction` requests there; an `operations` entry in this configuration
    would also undo `--only`, as schemathesis ORs its selectors with the schema's filters.)
    """
    from schemathesis import Config

    data: dict[str, Any] = {
        "base-url": profile.api_root,
        "request-timeout": profile.timeout,
        "workers": WORKERS,
        # The same trust as the semantic client's (conformance/tls.py).
        "tls-verify": profile.tls.requests_verify(),
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",
            "max-examples": profile.examples,
            "database": "none",
        },
        "phases": {
            "coverage": {"unexpected-methods": ["TRACE"]},
            "stateful": {"max-steps": max(5, profile.examples)},
        },
        # Flowise answers a missing body or a missing parameter its controller needs with 412 (the
        # spec's PreconditionFailed), also where the schema leaves that parameter optional.
        "checks": {
            "negative_data_rejection": {"expected-statuses": [*_default_statuses("NEGATIVE_DATA_REJECTION"), "412"]},
            "positive_data_acceptance": {"expected-statuses": [*_default_statuses("POSITIVE_DATA_ACCEPTANCE"), "412"]},
        },
    }
    if profile.api_key:
        data["headers"] = {"Authorization": f"Bearer {profile.api_key}"}
    if profile.rate_limit:
        data["rate-limit"] = _rate(profile.rate_limit)
    seed = seed if seed is not None else profile.seed
    if seed is not None:
        data["seed"] = seed
    return Config.from_dict(data)
