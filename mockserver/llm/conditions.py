"""The comparisons of Flowise's Condition node (AgentflowV2), as its JavaScript makes them.

A condition is ``{type: string|number|boolean, value1, operation, value2}``. Numbers are read like
``parseFloat(x) || 0`` (the leading number of a text, else 0); ``equal`` is JavaScript's strict ``===``,
so ``true`` never equals ``"true"``; a regex that does not compile, or an unknown operation, does not hold.
The first condition that holds is fulfilled; when none does, an Else condition is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import regex

__all__ = ["ELSE", "first_fulfilled", "has_number", "holds", "parse_float"]

_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: The condition Flowise appends after the configured ones, fulfilled when none of them is.
ELSE = {"type": "string", "value1": "", "operation": "equal", "value2": ""}


def has_number(value: Any) -> bool:
    """Does ``parseFloat``/``parseInt`` find a number at the start of ``value``?"""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return bool(_NUMBER.match(str(value)))


def parse_float(value: Any) -> float:
    """``parseFloat(value) || 0``: the leading number of a text, 0 when there is none."""
    if isinstance(value, bool):
        return 0.0
    if isinstance(value, (int, float)):
        return float(value)
    match = _NUMBER.match(str(value)) if value is not None else None
    return float(match.group(0)) if match else 0.0


#: How long one ``regex`` condition may search. Flowise's ``new RegExp(b).test(a)`` has no limit (a
#: backtracking pattern stalls its event loop); here the question cannot stall the mock.
REGEX_TIMEOUT_S = 1.0


class RegexTimeoutError(Exception):
    """A condition's pattern took too long on the input: the node fails with this message."""


def _regex_test(value1: Any, pattern: Any) -> bool:
    try:
        return regex.search(str(pattern or ""), str(value1 or ""), timeout=REGEX_TIMEOUT_S,
                            concurrent=True) is not None
    except regex.error:
        return False
    except TimeoutError:
        raise RegexTimeoutError(f"Error: the condition's regex took longer than {REGEX_TIMEOUT_S:g} s") from None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "contains": lambda a, b: str(b or "") in str(a or ""),
    "notContains": lambda a, b: str(b or "") not in str(a or ""),
    "startsWith": lambda a, b: str(a).startswith(str(b)),
    "endsWith": lambda a, b: str(a).endswith(str(b)),
    "equal": lambda a, b: type(a) is type(b) and a == b,
    "notEqual": lambda a, b: not (type(a) is type(b) and a == b),
    "larger": lambda a, b: parse_float(a) > parse_float(b),
    "largerEqual": lambda a, b: parse_float(a) >= parse_float(b),
    "smaller": lambda a, b: parse_float(a) < parse_float(b),
    "smallerEqual": lambda a, b: parse_float(a) <= parse_float(b),
    "regex": _regex_test,
    "isEmpty": lambda a, _b: a in (None, ""),
    "notEmpty": lambda a, _b: a not in (None, ""),
}


def holds(condition: dict[str, Any]) -> bool:
    """Does one (already resolved) condition hold?"""
    kind, first, second = condition.get("type"), condition.get("value1"), condition.get("value2")
    if kind == "number":
        first, second = parse_float(first), parse_float(second)
    elif kind != "boolean":
        first, second = first or "", second or ""
    compare = _COMPARE.get(str(condition.get("operation")))
    return compare is not None and compare(first, second)


def first_fulfilled(conditions: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """The index of the output to follow (``len(conditions)`` for the Else) and the conditions as the node
    reports them: the one that held marked ``isFulfilled: true``, then the Else with its own flag."""
    decided = [dict(c) for c in conditions]
    chosen = len(conditions)
    for index, condition in enumerate(conditions):
        if holds(condition):
            decided[index] = {**condition, "isFulfilled": True}
            chosen = index
            break
    decided.append({**ELSE, "isFulfilled": chosen == len(conditions)})
    return chosen, decided
