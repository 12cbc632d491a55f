"""What changes on the wire when a Flowise deployment moves from one release line to another.

An operator planning an upgrade (say 2.2.8 → 3.1.4) needs two lists before touching production:
the contract changes their clients will meet (`wire_changes.toml`: new auth, new statuses, routes
that stop or start being public), and the known deviations of the real server that go away, appear
or stay (`deviations.toml`, whose `versions` say which lines show each one, and the spec's
`x-flowise-upstream` notes, which say on which operations). Both come from the kit's data, not from
a live server: `flowise-conformance --compare-versions 2.2.8` prints them;
`flowise-mock --quirks flowise-<line>` and `flowise-conformance URL --flowise-version X` then let
the operator rehearse each side.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.errors import ConfigError
from conformance.spec import SpecIndex
from conformance.version import PROFILES, parse_version
from contract.deviations import Deviation, Deviations, load_deviations

__all__ = [
    "LINES",
    "UpgradeReport",
    "WireChange",
    "compare_versions",
    "line_of",
    "load_wire_changes",
    "main",
]

#: The release lines the kit supports, oldest first (each has a profile in version.py).
LINES: tuple[str, ...] = tuple(sorted((profile.line_name for profile in PROFILES), key=lambda line: parse_version(line) or (0, 0, 0)))
#: The newest release of each line, as the reference harness installs it.
NEWEST = {"3.1": "3.1.4", "3.0": "3.0.13", "2.2": "2.2.8"}
_CHANGE_KEYS = frozenset({"id", "since", "summary", "before", "after", "operations", "reference", "action"})


def line_of(version: str) -> str:
    """`3.0.13` → `3.0`; a version outside the supported lines is a ConfigError naming them."""
    parsed = parse_version(version)
    line = f"{parsed[0]}.{parsed[1]}" if parsed else None
    if line not in LINES:
        raise ConfigError(f"Flowise {version!r} is not on a supported release line ({', '.join(LINES)})")
    return line


def _rank(line: str) -> int:
    return LINES.index(line)


@dataclass(frozen=True, slots=True)
class WireChange:
    """One contract change between release lines: from `since` on, `after` holds instead of `before`."""

    id: str
    since: str
    summary: str
    before: str
    after: str
    reference: str
    operations: tuple[str, ...] = ()
    #: What an operator must do about it when upgrading (empty: nothing).
    action: str = ""

    def between(self, old: str, new: str) -> bool:
        """Does moving from line `old` to line `new` (either direction) cross this change?"""
        low, high = sorted((_rank(old), _rank(new)))
        return low < _rank(self.since) <= high

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "since": self.since, "summary": self.summary, "before": self.before,
                "after": self.after, "reference": self.reference, "operations": list(self.operations),
                "action": self.action}


def load_wire_changes(path: Path | None = None) -> list[WireChange]:
    """`wire_changes.toml` (shipped with the package), validated."""
    source = str(path) if path else "wire_changes.toml"
    text = path.read_text(encoding="utf-8") if path else \
        resources.files("conformance").joinpath("wire_changes.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if set(data) - {"change"}:
        raise ConfigError(f"{source}: only [[change]] tables are allowed")
    changes = []
    for index, item in enumerate(data.get("change", [])):
        where = f"{source}: change[{index}]"
        unknown = set(item) - _CHANGE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("id", "since", "summary", "before", "after", "reference"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise ConfigError(f"{where}: `{key}` is a required string")
        if item["since"] not in LINES or item["since"] == LINES[0]:
            raise ConfigError(f"{where}: `since` must be a supported line newer than {LINES[0]}, got {item['since']!r}")
        operations = item.get("operations", [])
        if not isinstance(operations, list) or not all(isinstance(op, str) for op in operations):
            raise ConfigError(f"{where}: `operations` must be a list of operationIds")
        changes.append(WireChange(id=item["id"], since=item["since"], summary=item["summary"], before=item["before"],
                                  after=item["after"], reference=item["reference"], operations=tuple(operations),
                                  action=str(item.get("action", ""))))
    ids = [change.id for change in changes]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: duplicate change ids")
    return changes


def _note_operations(spec: SpecIndex | None, deviation_id: str, line: str) -> list[str]:
    """The operations whose `x-flowise-upstream` note `deviation_id` holds on `line`."""
    if spec is None:
        return []
    found = []
    for operation in spec:
        for note in operation.raw.get("x-flowise-upstream") or ():
            if isinstance(note, dict) and note.get("id") == deviation_id and \
                    (not note.get("versions") or line in note["versions"]):
                found.append(operation.operation_id)
    return sorted(set(found))


@dataclass
class DeviationChange:
    deviation: Deviation
    #: "goes away", "appears" or "stays".
    verdict: str
    operations_before: list[str] = field(default_factory=list)
    operations_after: list[str] = field(default_factory=list)
    note_before: str = ""
    note_after: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.deviation.id, "verdict": self.verdict, "summary": self.deviation.summary,
                "reference": self.deviation.reference, "operations_before": self.operations_before,
                "operations_after": self.operations_after, "note_before": self.note_before,
                "note_after": self.note_after}


@dataclass
class UpgradeReport:
    """From `old` to `new`: the contract changes crossed and the deviations' fate."""

    old: str
    new: str
    old_line: str
    new_line: str
    changes: list[WireChange]
    deviations: list[DeviationChange]

    @property
    def direction(self) -> str:
        if self.old_line == self.new_line:
            return "same line"
        return "upgrade" if _rank(self.new_line) > _rank(self.old_line) else "downgrade"

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.old, "to": self.new, "from_line": self.old_line, "to_line": self.new_line,
                "direction": self.direction, "changes": [change.to_dict() for change in self.changes],
                "deviations": [item.to_dict() for item in self.deviations]}

    def to_markdown(self) -> str:
        lines = [f"# Flowise {self.old} → {self.new}: what changes on the wire", ""]
        if self.direction == "same line":
            lines += [f"Both are Flowise {self.old_line}: the kit knows of no wire difference inside a line.", ""]
        else:
            old_side, new_side = (("before", "after") if self.direction == "upgrade" else ("after", "before"))
            lines += [f"## Contract changes ({len(self.changes)})", ""]
            if not self.changes:
                lines += ["None recorded between these lines.", ""]
            for change in self.changes:
                was, becomes = getattr(change, old_side), getattr(change, new_side)
                lines += [f"### {change.id} (since {change.since})", "", change.summary, "",
                          f"- on {self.old}: {was}", f"- on {self.new}: {becomes}"]
                if change.operations:
                    lines.append(f"- operations: {', '.join(change.operations)}")
                if change.action and self.direction == "upgrade":
                    lines.append(f"- to do: {change.action}")
                lines += [f"- reference: {change.reference}", ""]
        for verdict, title in (("goes away", "Known deviations that go away"),
                               ("appears", "Known deviations that appear"),
                               ("stays", "Known deviations on both")):
            items = [item for item in self.deviations if item.verdict == verdict]
            lines += [f"## {title} ({len(items)})", ""]
            for item in items:
                lines.append(f"- **{item.deviation.id}**: {item.deviation.summary} ({item.deviation.reference})")
                operations = item.operations_after if verdict == "appears" else item.operations_before
                if verdict == "stays" and set(item.operations_before) != set(item.operations_after):
                    gone = sorted(set(item.operations_before) - set(item.operations_after))
                    new = sorted(set(item.operations_after) - set(item.operations_before))
                    if gone:
                        lines.append(f"  no longer on {self.new}: {', '.join(gone)}")
                    if new:
                        lines.append(f"  new on {self.new}: {', '.join(new)}")
                elif operations:
                    lines.append(f"  operations: {', '.join(operations)}")
                for side, note in ((self.old, item.note_before), (self.new, item.note_after)):
                    if note:
                        lines.append(f"  on {side}: {note}")
            lines.append("")
        lines += ["## Rehearse", "",
                  f"- `flowise-mock --quirks flowise-{self.old_line}` and `--quirks flowise-{self.new_line}` "
                  "answer like each side, known deviations included",
                  f"- `flowise-conformance URL --flowise-version {self.new}` judges the upgraded server by "
                  f"{self.new_line}'s expectations",
                  f"- `python -m conformance.reference --flowise-version {NEWEST[self.new_line]}` proves them "
                  "against the real release", ""]
        return "\n".join(lines)


def compare_versions(old: str, new: str | None = None, *, catalogue: Deviations | None = None,
                     changes: list[WireChange] | None = None, spec: SpecIndex | None = None) -> UpgradeReport:
    """The report for moving a deployment from `old` to `new` (default: the newest supported release)."""
    new = new or NEWEST[LINES[-1]]
    old_line, new_line = line_of(old), line_of(new)
    catalogue = catalogue if catalogue is not None else load_deviations()
    changes = load_wire_changes() if changes is None else changes
    crossed = sorted((change for change in changes if change.between(old_line, new_line)),
                     key=lambda change: (_rank(change.since), change.id))
    fates = []
    for deviation in catalogue:
        on_old, on_new = deviation.applies_to(old_line), deviation.applies_to(new_line)
        if not (on_old or on_new):
            continue
        notes = dict(deviation.version_notes)
        fates.append(DeviationChange(
            deviation=deviation,
            verdict="stays" if on_old and on_new else ("goes away" if on_old else "appears"),
            operations_before=_note_operations(spec, deviation.id, old_line) if on_old else [],
            operations_after=_note_operations(spec, deviation.id, new_line) if on_new else [],
            note_before=notes.get(old_line, "") if on_old else "",
            note_after=notes.get(new_line, "") if on_new else "",
        ))
    return UpgradeReport(old=old, new=new, old_line=old_line, new_line=new_line, changes=crossed, deviations=fates)


def parse_span(text: str) -> tuple[str, str | None]:
    """`2.2.8` → ("2.2.8", None); `2.2.8:3.0.13` or `2.2.8..3.0.13` → both."""
    for separator in ("..", ":"):
        if separator in text:
            old, new = text.split(separator, 1)
            return old.strip(), new.strip() or None
    return text.strip(), None


def main(span: str, *, spec_path: Path | None = None, as_json: bool = False) -> str:
    """The text `flowise-conformance --compare-versions SPAN` prints."""
    from conformance.profile import default_spec_path
    from conformance.spec import load_spec

    old, new = parse_span(span)
    spec = load_spec(spec_path or default_spec_path())
    report = compare_versions(old, new, spec=spec)
    return json.dumps(report.to_dict(), indent=2) if as_json else report.to_markdown()
