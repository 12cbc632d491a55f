"""Compare two normalised exchanges and judge the difference.

A difference is one aspect (transport, status, media type, JSON shape, SSE events) named with both
sides' values. A row's verdict, for a mock compared with the real server:
- `agree`: no difference;
- `documented`: differences, on a step where the real server shows a documented deviation, and the
  mock was *not* asked to reproduce the real server's defects (it serves the corrected contract);
- `differ`: anything else: a fidelity bug of the mock, or an undocumented behaviour of the real one.
With `--quirks flowise-3.1` the mock must agree everywhere, so `documented` is never granted then.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.reference.normalise import Normalised, Shape, shape_text

__all__ = ["Difference", "Verdict", "compare", "compare_shapes", "verdict"]


@dataclass(frozen=True)
class Difference:
    aspect: str
    where: str
    left: str
    right: str

    def __str__(self) -> str:
        where = f" {self.where}" if self.where else ""
        return f"{self.aspect}{where}: {self.left} vs {self.right}"


def _types(shape: Shape) -> set[str]:
    return set(shape_text(shape).split("|"))


def compare_shapes(left: Shape, right: Shape, where: str = "$") -> list[Difference]:
    """Key sets and value types, recursively. Empty arrays fit any array; `a|b` fits `a`."""
    if isinstance(left, dict) and isinstance(right, dict):
        if "object" in left and "object" in right:
            differences: list[Difference] = []
            only_left = sorted(set(left["object"]) - set(right["object"]))
            only_right = sorted(set(right["object"]) - set(left["object"]))
            if only_left or only_right:
                differences.append(
                    Difference("keys", where, ", ".join(only_left) or "-", ", ".join(only_right) or "-")
                )
            for key in sorted(set(left["object"]) & set(right["object"])):
                differences += compare_shapes(left["object"][key], right["object"][key], f"{where}.{key}")
            return differences
        if "array" in left and "array" in right:
            if left["array"] is None or right["array"] is None:
                return []
            return compare_shapes(left["array"], right["array"], f"{where}[]")
    left_types, right_types = _types(left), _types(right)
    union = "|" in shape_text(left) or "|" in shape_text(right)
    if left_types == right_types or (union and left_types & right_types):
        return []
    return [Difference("type", where, shape_text(left), shape_text(right))]


def compare(left: Normalised, right: Normalised) -> list[Difference]:
    """Every aspect in which two normalised exchanges differ (empty when they agree)."""
    if left.error or right.error:
        if left.error != right.error:
            return [Difference("transport", "", left.error or f"HTTP {left.status}", right.error or f"HTTP {right.status}")]
        return []
    differences: list[Difference] = []
    if left.status != right.status:
        differences.append(Difference("status", "", str(left.status), str(right.status)))
    if left.media_type != right.media_type:
        differences.append(Difference("content-type", "", left.media_type or "-", right.media_type or "-"))
    if left.events is not None or right.events is not None:
        if left.events != right.events:
            differences.append(
                Difference("events", "", " ".join(left.events or ("-",)), " ".join(right.events or ("-",)))
            )
    elif left.is_json and right.is_json:
        differences += compare_shapes(left.shape, right.shape)
    elif left.is_json != right.is_json:
        differences.append(Difference("body", "", "JSON" if left.is_json else "not JSON", "JSON" if right.is_json else "not JSON"))
    return differences


@dataclass(frozen=True)
class Verdict:
    label: str
    differences: tuple[Difference, ...]
    deviations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.label in {"agree", "documented"}


def verdict(
    real: Normalised,
    mock: Normalised,
    *,
    deviations: tuple[str, ...],
    quirks: bool,
    confirmed: tuple[str, ...] | None = None,
) -> Verdict:
    """Judge one row. `confirmed`, when given, narrows `deviations` to those the real answer showed."""
    differences = tuple(compare(real, mock))
    if not differences:
        return Verdict("agree", differences)
    shown = deviations if confirmed is None else tuple(d for d in deviations if d in confirmed)
    if shown and not quirks:
        return Verdict("documented", differences, shown)
    return Verdict("differ", differences, shown)
