"""The exit codes of `flowise-conformance`, in one table (printed by `--help`).

Distinct codes let a pipeline tell "the target broke its contract" (1) from "the run could not
judge the target at all" (3-6), which need different people to act.
"""

from __future__ import annotations

from enum import IntEnum

from conformance.errors import (
    ApiKeyRejected,
    ConfigError,
    ConformanceError,
    MockStartError,
    SpecError,
    TargetUnreachable,
)

__all__ = ["ExitCode", "exit_code_for", "help_table"]


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    KEY_REJECTED = 4
    SPEC_ERROR = 5
    MOCK_FAILED = 6
    INTERNAL = 7
    INTERRUPTED = 130


_MEANING = {
    ExitCode.OK: "every check passed (known deviations allowed unless --strict)",
    ExitCode.FAILED: "at least one check failed",
    ExitCode.USAGE: "bad flags or environment values",
    ExitCode.UNREACHABLE: "the target is unreachable or does not answer GET /api/v1/ping like Flowise",
    ExitCode.KEY_REJECTED: "the target rejected the API key (401)",
    ExitCode.SPEC_ERROR: "the OpenAPI spec cannot be loaded",
    ExitCode.MOCK_FAILED: "the embedded flowise-mock did not start",
    ExitCode.INTERNAL: "the suite itself crashed",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); created resources were still cleaned up",
}


def exit_code_for(error: ConformanceError) -> ExitCode:
    # Order matters: MockStartError is a TargetUnreachable.
    if isinstance(error, MockStartError):
        return ExitCode.MOCK_FAILED
    if isinstance(error, TargetUnreachable):
        return ExitCode.UNREACHABLE
    if isinstance(error, ApiKeyRejected):
        return ExitCode.KEY_REJECTED
    if isinstance(error, SpecError):
        return ExitCode.SPEC_ERROR
    if isinstance(error, ConfigError):
        return ExitCode.USAGE
    return ExitCode.INTERNAL


def help_table() -> str:
    return "\n".join(f"  {int(code):>3}  {_MEANING[code]}" for code in ExitCode)
