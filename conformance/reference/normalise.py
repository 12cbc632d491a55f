"""Reduce an exchange to what two Flowise implementations must agree on.

Two servers never send the same ids, dates, keys or generated text, and a real LLM chain streams a
different number of token chunks than a fake one. What must agree is the contract's shape: the
status, the media type, the JSON key set and value types (recursively), and the SSE event-name
sequence with runs of one event (`token` x N) collapsed. Volatile values are replaced by
placeholders only in the preview a person reads; they take no part in the comparison.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from conformance.reference.exchanges import ExchangeResult

__all__ = [
    "Normalised",
    "Shape",
    "collapse_events",
    "media_type",
    "merge_shapes",
    "normalise",
    "scrub",
    "shape_of",
    "shape_text",
]

#: A JSON value's shape: a type name ("string", "number", "boolean", "null", or "a|b" for a list
#: whose items differ), {"object": {key: shape}}, or {"array": shape-or-None (empty)}.
Shape = Any

_VOLATILE = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<date>"),
    (re.compile(r"U2FsdGVkX1[A-Za-z0-9+/=]+"), "<encrypted>"),
    (re.compile(r"\b[A-Za-z0-9_-]{40,}\b"), "<token>"),
    (re.compile(r"\bat position \d+ \(line \d+ column \d+\)"), "at <position>"),
)
PREVIEW_CHARS = 300


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def scrub(text: str) -> str:
    """Replace ids, dates, secrets and parser positions with placeholders."""
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


def merge_shapes(left: Shape, right: Shape) -> Shape:
    """One shape covering both (list items of one array): objects merge keys, scalars join as `a|b`."""
    if left == right:
        return left
    if isinstance(left, dict) and isinstance(right, dict):
        if "object" in left and "object" in right:
            keys = dict(left["object"])
            for key, shape in right["object"].items():
                keys[key] = merge_shapes(keys[key], shape) if key in keys else shape
            return {"object": keys}
        if "array" in left and "array" in right:
            if left["array"] is None or right["array"] is None:
                return {"array": left["array"] if right["array"] is None else right["array"]}
            return {"array": merge_shapes(left["array"], right["array"])}
    names = set(shape_text(left).split("|")) | set(shape_text(right).split("|"))
    return "|".join(sorted(names))


def shape_of(value: Any) -> Shape:
    """The shape of a decoded JSON value (see `Shape`)."""
    if isinstance(value, dict):
        return {"object": {key: shape_of(item) for key, item in value.items()}}
    if isinstance(value, list):
        items: Shape = None
        for item in value:
            shape = shape_of(item)
            items = shape if items is None else merge_shapes(items, shape)
        return {"array": items}
    return _scalar(value)


def shape_text(shape: Shape) -> str:
    """A one-word name for a shape, for messages."""
    if isinstance(shape, dict):
        return "object" if "object" in shape else "array"
    return str(shape)


def collapse_events(events: list[str]) -> tuple[str, ...]:
    """`token, token, token` → `token+`: chunking is the LLM's business, the order is the contract's."""
    collapsed: list[str] = []
    for name in events:
        if collapsed and collapsed[-1].rstrip("+") == name:
            collapsed[-1] = name + "+"
        else:
            collapsed.append(name)
    return tuple(collapsed)


@dataclass(frozen=True)
class Normalised:
    """An exchange as the differ sees it."""

    status: int | None
    media_type: str
    shape: Shape
    events: tuple[str, ...] | None
    error: str | None
    preview: str

    @property
    def is_json(self) -> bool:
        return self.shape is not None


def normalise(result: ExchangeResult) -> Normalised:
    """Reduce one result; JSON bodies get a shape, streams an event sequence, every body a preview."""
    kind = media_type(result.content_type)
    shape: Shape = None
    if result.status is not None and result.body and result.events is None:
        try:
            shape = shape_of(json.loads(result.body))
        except ValueError:
            shape = None
    error = result.error.split(":", 1)[0] if result.error else None
    return Normalised(
        status=result.status,
        media_type=kind if result.status is not None else "",
        shape=shape,
        events=collapse_events(result.events) if result.events is not None else None,
        error=error,
        preview=scrub(result.body[:PREVIEW_CHARS]) if result.status is not None else f"({result.error})",
    )
