"""A finding: the target broke its contract.

`Violation` is an `AssertionError`, so one class serves both layers: schemathesis records any
`AssertionError` raised by a registered check as a failure, and pytest reports it as a failed test.
It carries the name of the check (printed in every report, so it says what was asserted), the
operation, and the exchange that showed it; the deviation matcher reads those to recognise a known
upstream defect, and the report writers read them to print a curl command and the response.
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.exchange import Exchange

__all__ = ["Violation", "expect", "fail"]


class Violation(AssertionError):
    """The target answered in a way the contract forbids."""

    def __init__(
        self,
        message: str,
        *,
        check: str,
        operation: str | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(f"{check}: {message}")
        self.message = message
        self.check = check
        self.operation = operation
        self.exchange = exchange


def fail(message: str, *, check: str, operation: str | None = None, exchange: Exchange | None = None) -> Violation:
    """Build a violation to raise (kept as a function so call sites read `raise fail(...)`)."""
    return Violation(message, check=check, operation=operation, exchange=exchange)


def expect(
    problems: Iterable[str] | bool,
    *,
    check: str,
    message: str = "",
    operation: str | None = None,
    exchange: Exchange | None = None,
) -> None:
    """Raise a `Violation` when a check found problems.

    `problems` is either the list of problems a pure check function returned (empty means fine) or
    a plain condition (True means fine), so semantics tests read like assertions with a name.
    """
    if isinstance(problems, bool):
        if problems:
            return
        raise Violation(message or "condition not met", check=check, operation=operation, exchange=exchange)
    found = [problem for problem in problems if problem]
    if found:
        text = "; ".join(found)
        raise Violation(f"{message}: {text}" if message else text, check=check, operation=operation, exchange=exchange)
