"""What stops the suite itself, as opposed to what it finds out about the target.

A finding (the target broke its contract) is a `Violation` and ends up as a failed outcome in the
report. The classes below are different: they mean the run cannot do its job at all, so the CLI
ends at once with a one-line reason and a distinct exit code (the table lives in `cli.py`, the one
place that turns them into exit codes) instead of a wall of failed tests.

    ConformanceError
     ├── ConfigError        bad flags or environment values
     ├── SpecError          the OpenAPI document cannot be loaded or lacks what the suite needs
     ├── TargetUnreachable  nothing that looks like Flowise answers at BASE_URL
     │    └── MockStartError  the embedded mock did not come up
     └── ApiKeyRejected     the target refuses the API key it was given
"""

from __future__ import annotations

__all__ = [
    "ApiKeyRejected",
    "ConfigError",
    "ConformanceError",
    "MockStartError",
    "SpecError",
    "TargetUnreachable",
]


class ConformanceError(Exception):
    """Base of every error that ends a conformance run before it can judge the target."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url

    def __str__(self) -> str:
        return f"{self.message} ({self.url})" if self.url else self.message


class ConfigError(ConformanceError):
    """A flag or environment variable has a value the suite cannot use."""


class SpecError(ConformanceError):
    """The OpenAPI document is missing, unparsable, or lacks a part the suite relies on."""


class TargetUnreachable(ConformanceError):
    """BASE_URL does not answer, or does not answer `GET /api/v1/ping` like Flowise does."""


class MockStartError(TargetUnreachable):
    """The embedded `flowise-mock` exited or never answered its ping."""


class ApiKeyRejected(ConformanceError):
    """The target answered 401 to the API key the operator supplied."""
