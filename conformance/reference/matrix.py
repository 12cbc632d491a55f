"""`python -m conformance.reference --matrix`: the reference run over the deployment shapes that matter.

The full product of versions × access (direct, nginx, Caddy) × database × mode would take hours; the
cells below cover every value of every dimension at least once, each beside the newest release's
plain install (the baseline), so a failure in a cell points at the one dimension it changes:

- versions: 3.1.4 (baseline), 3.0.13, 2.2.8, each direct on SQLite;
- access: direct (baseline), nginx and Caddy, each with TLS and HTTP/2 to the client;
- database: SQLite (baseline), Postgres (behind Caddy, so a cell covers two dimensions);
- mode: main (baseline), queue (a main server and a worker over Redis).

Each cell is one `run_reference` with its report folder under the matrix folder; the matrix report
(`matrix.md`, `matrix.html`, `matrix.json`) gives, per cell, what it covers, the suite's pass / fail /
deviation / proxy counts per key, the failures left untriaged, the mock's fidelity to that version
(where the cell compares), and its run time. The exit code is 0 only when every cell passed.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.reference.releases import release_for
from conformance.reference.run import RunOptions, run_reference

__all__ = ["CELLS", "Cell", "CellResult", "cells_named", "run_matrix", "summarise_cell", "write_matrix"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class Cell:
    """One deployment shape to judge, and what it covers."""

    name: str
    version: str
    access: str = "direct"  # or a proxy of proxies.py
    database: str = "sqlite"
    mode: str = "main"
    #: The suite runs to make (run.SUITE_LABELS); None: every key.
    keys: tuple[str, ...] | None = ("full",)
    fidelity: bool = False
    covers: str = ""

    def options(self, report_dir: Path, *, suite_args: Sequence[str] = (), suite_timeout: float = 900.0) -> RunOptions:
        extra: dict[str, Any] = {}
        if self.database != "sqlite":
            extra["database"] = self.database
        if self.mode != "main":
            extra["mode"] = self.mode
        return RunOptions(
            release=release_for(self.version), report_dir=report_dir, fidelity=self.fidelity,
            proxy=None if self.access == "direct" else self.access, suite_keys=self.keys,
            suite_args=list(suite_args), suite_timeout=suite_timeout, **extra,
        )

    def shape(self) -> str:
        return f"Flowise {self.version}, {self.access}, {self.database}, {self.mode}"


CELLS: tuple[Cell, ...] = (
    Cell("3.1-direct", "3.1.4", keys=None, fidelity=True,
         covers="baseline: the newest release as installed, with every key, and the mock's fidelity"),
    Cell("3.1-nginx", "3.1.4", access="nginx", covers="access: behind nginx with TLS and HTTP/2"),
    Cell("3.1-caddy-postgres", "3.1.4", access="caddy", database="postgres",
         covers="access: behind Caddy with TLS and HTTP/2; database: Postgres"),
    Cell("3.1-queue", "3.1.4", database="postgres", mode="queue",
         covers="mode: queue (main server and worker over Redis), on Postgres"),
    Cell("3.0-direct", "3.0.13", fidelity=True, covers="version: the last 3.0, and the mock's fidelity to it"),
    Cell("2.2-direct", "2.2.8", fidelity=True,
         covers="version: the last 2.x (keys outside the database), and the mock's fidelity to it"),
)


def cells_named(names: str | None) -> list[Cell]:
    """The cells `--cells a,b` names (all of them without); unknown names are an error naming the known."""
    if not names:
        return list(CELLS)
    by_name = {cell.name: cell for cell in CELLS}
    chosen = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in by_name]
    if unknown:
        raise ValueError(f"unknown cell {', '.join(unknown)}; the cells: {', '.join(by_name)}")
    return [by_name[name] for name in chosen]


@dataclass
class CellResult:
    cell: Cell
    exit_code: int
    seconds: float
    #: Per suite run (key label): counts by status from its results.json.
    suites: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Per suite run: failures no triage rule or proposed deviation explains.
    untriaged: dict[str, int] = field(default_factory=dict)
    fidelity: dict[str, dict[str, int]] = field(default_factory=dict)
    problem: str = ""

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not any(self.untriaged.values()) and not self.problem

    def to_dict(self) -> dict[str, object]:
        return {"cell": self.cell.name, "shape": self.cell.shape(), "covers": self.cell.covers,
                "exit_code": self.exit_code, "passed": self.passed, "seconds": self.seconds,
                "suites": self.suites, "untriaged": self.untriaged, "fidelity": self.fidelity,
                "problem": self.problem}


_FOLDERS = {"full": "conformance", "scoped": "conformance-scoped", "view-only-read-only": "conformance-view-read-only"}


def summarise_cell(cell: Cell, folder: Path, exit_code: int, seconds: float) -> CellResult:
    """What one cell's reports say (run.json, each suite's results.json)."""
    result = CellResult(cell, exit_code, round(seconds, 1))
    run = _read_json(folder / "run.json")
    facts = run.get("facts", {}) if isinstance(run, dict) else {}
    for label, name in _FOLDERS.items():
        results = _read_json(folder / name / "results.json")
        if isinstance(results, dict) and isinstance(results.get("counts"), dict):
            result.suites[label] = {key: int(value) for key, value in results["counts"].items()}
            verdicts = facts.get("triage" if label == "full" else f"triage ({label} key)", {}) or {}
            result.untriaged[label] = int(verdicts.get("untriaged", 0))
    for fact, kind in (("fidelity", "script"), ("case matrix", "cases")):  # the scripted exchanges, the case matrix
        counts = facts.get(fact)
        if isinstance(counts, dict):
            result.fidelity.update({f"{kind}, {label}": dict(v) for label, v in counts.items() if isinstance(v, dict)})
    wanted = cell.keys or tuple(_FOLDERS)
    scoped = release_for(cell.version).key_permissions  # 2.x keys have no permissions: no scoped run
    missing = [label for label in wanted if label not in result.suites and (label != "scoped" or scoped)]
    if missing and exit_code == 0:
        result.problem = f"no results for {', '.join(missing)}"
    elif exit_code != 0 and not result.suites:
        result.problem = f"the run ended with exit code {exit_code} before the suite (see {cell.name}/run.json)"
    if cell.fidelity and not result.fidelity and not result.problem:
        result.problem = facts.get("fidelity error") or "the fidelity comparison did not run"
    return result


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_matrix(cells: Sequence[Cell], out: Path, *, log: Log, suite_args: Sequence[str] = (),
               suite_timeout: float = 900.0,
               run: Callable[[RunOptions, Log], int] = run_reference) -> list[CellResult]:
    """Each cell in turn (they share the machine's two cores: one at a time), then the matrix report."""
    results: list[CellResult] = []
    for index, cell in enumerate(cells, 1):
        log(f"cell {index}/{len(cells)} {cell.name}: {cell.shape()} ({cell.covers})")
        folder = out / cell.name
        started = time.monotonic()

        def prefixed(message: str, name: str = cell.name) -> None:
            log(f"[{name}] {message}")

        code = run(cell.options(folder, suite_args=suite_args, suite_timeout=suite_timeout), prefixed)
        results.append(summarise_cell(cell, folder, code, time.monotonic() - started))
        write_matrix(results, out)  # after every cell: an interrupted matrix keeps what it measured
        if code == 130:
            log("interrupted: the cells after this one were not run")
            break
    return results


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(key, 0)} {key}" for key in ("pass", "fail", "deviation", "proxy", "skip"))


def _fidelity_text(fidelity: dict[str, dict[str, int]]) -> str:
    return "; ".join(f"{label}: {c.get('agree', 0)} agree, {c.get('documented', 0)} documented, "
                     f"{c.get('differ', 0)} differ" for label, c in fidelity.items()) or "not compared"


def write_matrix(results: Sequence[CellResult], out: Path) -> dict[str, Path]:
    """`matrix.json`, `.md` and `.html` in `out`. Cells of an earlier matrix in the same folder that this
    run did not make are kept (in their order, with when they ran), so a failed cell can be run again
    alone (`--cells NAME --report-dir` the same folder) and the report still shows every cell."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "matrix.json", "md": out / "matrix.md", "html": out / "matrix.html"}
    fresh = {result.cell.name: {**result.to_dict(), "ran": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
             for result in results}
    earlier = _read_json(paths["json"])
    rows: list[dict[str, Any]] = []
    for row in earlier.get("cells", []) if isinstance(earlier, dict) else []:
        if isinstance(row, dict) and row.get("cell") not in fresh:
            rows.append(row)
        elif isinstance(row, dict):
            rows.append(fresh.pop(str(row["cell"])))
    rows += fresh.values()
    passed = sum(bool(row.get("passed")) for row in rows)
    paths["json"].write_text(json.dumps({"passed": passed == len(rows), "cells": rows}, indent=2) + "\n")
    lines = ["# Reference matrix", "", f"{passed} of {len(rows)} cells passed.", "",
             "| cell | shape | covers | verdict | suite (per key) | untriaged | fidelity | time | ran |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        suites = "<br>".join(f"{label}: {_counts(counts)}" for label, counts in row.get("suites", {}).items()) or "—"
        lines.append(f"| {row['cell']} | {row.get('shape', '')} | {row.get('covers', '')} | {_verdict(row)} | {suites} | "
                     f"{sum(row.get('untriaged', {}).values())} | {_fidelity_text(row.get('fidelity', {}))} | "
                     f"{row.get('seconds', 0):.0f} s | {row.get('ran', '')} |")
    paths["md"].write_text("\n".join(lines) + "\n")
    cells = "".join(
        f"<tr class={'pass' if row.get('passed') else 'fail'}>"
        + "".join(f"<td>{html.escape(text)}</td>" for text in (
            str(row["cell"]), str(row.get("shape", "")), str(row.get("covers", "")), _verdict(row)))
        + f"<td>{'<br>'.join(html.escape(f'{k}: {_counts(c)}') for k, c in row.get('suites', {}).items())}</td>"
        + "".join(f"<td>{html.escape(text)}</td>" for text in (
            str(sum(row.get("untriaged", {}).values())), _fidelity_text(row.get("fidelity", {})),
            f"{row.get('seconds', 0):.0f} s", str(row.get("ran", ""))))
        + "</tr>"
        for row in rows
    )
    paths["html"].write_text(
        "<!doctype html><meta charset=utf-8><title>Reference matrix</title>"
        "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}"
        "table{border-collapse:collapse}.pass td:nth-child(4){color:#060}.fail td:nth-child(4){color:#b00}</style>"
        f"<h1>Reference matrix</h1><p>{passed} of {len(rows)} cells passed. "
        "Each cell's own reports are in its folder.</p><table><tr><th>cell</th><th>shape</th><th>covers</th>"
        "<th>verdict</th><th>suite (per key)</th><th>untriaged</th><th>fidelity</th><th>time</th><th>ran</th></tr>"
        f"{cells}</table>\n"
    )
    return paths


def _verdict(row: dict[str, Any]) -> str:
    if row.get("passed"):
        return "pass"
    problem = row.get("problem") or ""
    return f"FAIL (exit {row.get('exit_code')}){': ' + problem if problem else ''}"
