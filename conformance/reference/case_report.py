"""The case matrix's verdicts: one row per operation, one column per standard case, per mock.

A case's verdict for a mock is the worst verdict of its rows in the fidelity comparison (differ over
documented over agree); a case left out shows its reason. Written as `cases/matrix.md` (and
`matrix.json`) beside the row-by-row `cases/fidelity.*` of the same exchanges.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.reference.cases import CASES, Case, build_matrix, case_steps
from conformance.reference.exchanges import TargetContext, run_script
from conformance.reference.fidelity import Column, Fidelity, compare_targets
from conformance.reference.fidelity_report import write_fidelity

__all__ = ["case_verdicts", "matrix_counts", "render_matrix", "run_case_matrix", "write_case_matrix"]

_RANK = {"agree": 0, "documented": 1, "differ": 2}
_MARK = {"agree": "=", "documented": "d", "differ": "X", "left out": "·"}


def case_verdicts(fidelity: Fidelity, matrix: Sequence[Case]) -> dict[tuple[str, str], dict[str, str]]:
    """(operation, case) → mock label → "agree" / "documented" / "differ" / "left out"."""
    labels = [column.label for column in fidelity.columns[1:]]
    worst: dict[tuple[str, str], dict[str, str]] = {}
    by_name = {row.step.name: row for row in fidelity.rows}
    for case in matrix:
        cell: dict[str, str] = {}
        for label in labels:
            if not case.sent:
                cell[label] = "left out"
                continue
            verdicts = [by_name[step.name].verdicts[label].label for step in case.steps if step.name in by_name]
            cell[label] = max(verdicts, key=_RANK.__getitem__) if verdicts else "left out"
        worst[(case.operation, case.case)] = cell
    return worst


def matrix_counts(fidelity: Fidelity, matrix: Sequence[Case]) -> dict[str, dict[str, int]]:
    """Per mock: how many cases (setup excluded) agree, are documented, differ, or were left out."""
    counts: dict[str, dict[str, int]] = {}
    for (_, case), cell in case_verdicts(fidelity, matrix).items():
        if case == "setup":
            continue
        for label, verdict in cell.items():
            tally = counts.setdefault(label, {"agree": 0, "documented": 0, "differ": 0, "left out": 0})
            tally[verdict] += 1
    return counts


def _differences(fidelity: Fidelity, label: str) -> list[str]:
    lines = []
    for row in fidelity.rows:
        result = row.verdicts[label]
        if result.label != "agree":
            ids = f" ({', '.join(result.deviations)})" if result.deviations else ""
            details = "; ".join(str(difference) for difference in result.differences)
            lines.append(f"- `{row.step.name}` {result.label}{ids}: {details}".replace("\n", " "))
    return lines


def render_matrix(fidelity: Fidelity, matrix: Sequence[Case]) -> str:
    labels = [column.label for column in fidelity.columns[1:]]
    verdicts = case_verdicts(fidelity, matrix)
    operations = list(dict.fromkeys(case.operation for case in matrix))
    lines = ["# Case matrix: mock vs real Flowise, per operation and standard case", "",
             f"Reference: **{fidelity.reference}**. Each cell: one mark per mock ({', '.join(labels)}): "
             "`=` agree, `d` documented deviation, `X` differ, `·` left out (reasons below). "
             "A case's verdict is the worst of its rows (`fidelity.md` beside this file has every row).", ""]
    for label, tally in matrix_counts(fidelity, matrix).items():
        lines.append(f"- {label}: {tally['agree']} agree, {tally['documented']} documented, {tally['differ']} differ, "
                     f"{tally['left out']} left out")
    lines += ["", "| operation | setup | " + " | ".join(CASES) + " |", "|---|" + "---|" * (len(CASES) + 1)]
    for operation in operations:
        cells = [f"`{operation}`"]
        for case in ("setup", *CASES):
            cell = verdicts.get((operation, case))
            cells.append("".join(_MARK[cell[label]] for label in labels) if cell else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Cases left out", "", "| operation | case | why |", "|---|---|---|"]
    lines += [f"| `{case.operation}` | {case.case} | {case.reason} |" for case in matrix if not case.sent]
    for label in labels:
        lines += ["", f"## Rows that do not agree: {label}", ""]
        lines += _differences(fidelity, label) or ["(none)"]
    return "\n".join(lines) + "\n"


def write_case_matrix(fidelity: Fidelity, matrix: Sequence[Case], directory: Path) -> dict[str, Path]:
    """`matrix.md` and `matrix.json` under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"matrix": directory / "matrix.md", "matrix_json": directory / "matrix.json"}
    paths["matrix"].write_text(render_matrix(fidelity, matrix))
    raw: dict[str, Any] = {
        "reference": fidelity.reference,
        "counts": matrix_counts(fidelity, matrix),
        "cases": [
            {"operation": case.operation, "case": case.case, "reason": case.reason,
             "steps": [step.name for step in case.steps],
             "verdicts": case_verdicts(fidelity, matrix)[(case.operation, case.case)]}
            for case in matrix
        ],
    }
    paths["matrix_json"].write_text(json.dumps(raw, indent=2) + "\n")
    return paths


def run_case_matrix(
    targets: Sequence[TargetContext],
    *,
    line: str,
    directory: Path,
    seconds: dict[str, float] | None = None,
    facts: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """The matrix on every target (the first is the reference, the second the quirky mock, the rest plain
    mocks), compared and written under `directory`: `fidelity.*` row by row (keys `cases_markdown`, ...),
    `matrix.*` per case (keys `matrix`, `matrix_json`)."""
    matrix = build_matrix(line=line)
    steps = case_steps(matrix)
    results = []
    for target in targets:
        started = time.monotonic()
        results.append(run_script(target, steps))
        if seconds is not None:
            seconds[f"case matrix on {target.label}"] = round(time.monotonic() - started, 1)
    reference, *others = [Column(target.label, result, quirks=index == 1)
                          for index, (target, result) in enumerate(zip(targets, results, strict=True))]
    fidelity = compare_targets(steps, reference, others)
    paths = {f"cases_{name}": path for name, path in write_fidelity(fidelity, directory).items()}
    paths.update(write_case_matrix(fidelity, matrix, directory))
    if facts is not None:
        facts["case matrix steps"] = len(steps)
        facts["case matrix"] = matrix_counts(fidelity, matrix)
        facts["case matrix rows"] = {column.label: fidelity.counts(column.label) for column in fidelity.columns[1:]}
    return paths
