"""flowise-conformance: checks any Flowise (or a Flowise-compatible server) against the API contract.

Run it as `flowise-conformance [BASE_URL]` or as `pytest conformance --flowise-url BASE_URL`. The
names below are the package's public surface; everything else is reached through its own module.
"""

from __future__ import annotations

from conformance.errors import ApiKeyRejected, ConfigError, ConformanceError, SpecError, TargetUnreachable
from conformance.outcomes import Outcome, RunReport, Status
from conformance.profile import Capabilities, TargetProfile

__all__ = [
    "ApiKeyRejected",
    "Capabilities",
    "ConfigError",
    "ConformanceError",
    "Outcome",
    "RunReport",
    "SpecError",
    "Status",
    "TargetProfile",
    "TargetUnreachable",
]
