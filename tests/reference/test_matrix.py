"""The reference matrix: which cells, what each covers, and the report it writes from the cells' reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.reference.cli import main
from conformance.reference.matrix import CELLS, Cell, cells_named, run_matrix, summarise_cell
from conformance.reference.releases import RELEASES
from conformance.reference.run import RunOptions


def test_the_cells_cover_every_value_of_every_dimension() -> None:
    assert {cell.version for cell in CELLS} == {release.version for release in RELEASES}
    assert {cell.access for cell in CELLS} == {"direct", "nginx", "caddy"}
    assert {cell.database for cell in CELLS} == {"sqlite", "postgres"}
    assert {cell.mode for cell in CELLS} == {"main", "queue"}
    baseline = CELLS[0]
    assert (baseline.access, baseline.database, baseline.mode, baseline.keys) == ("direct", "sqlite", "main", None)
    assert all(cell.covers for cell in CELLS) and len({cell.name for cell in CELLS}) == len(CELLS)


def test_cells_are_chosen_by_name_and_unknown_names_are_refused() -> None:
    assert [cell.name for cell in cells_named("3.1-nginx, 2.2-direct")] == ["3.1-nginx", "2.2-direct"]
    assert cells_named(None) == list(CELLS)
    with pytest.raises(ValueError, match="unknown cell 3.9-direct; the cells: 3.1-direct"):
        cells_named("3.9-direct")


def test_a_cell_becomes_the_run_options_of_its_shape(tmp_path: Path) -> None:
    options = cells_named("3.1-nginx")[0].options(tmp_path / "c", suite_args=["--timeout", "60"])
    assert (options.proxy, options.suite_keys, options.fidelity) == ("nginx", ("full",), False)
    assert options.release.version == "3.1.4" and options.suite_args == ["--timeout", "60"]
    assert cells_named("2.2-direct")[0].options(tmp_path).release.version == "2.2.8"


def _fake_reports(folder: Path, *, fails: int = 0, untriaged: int = 0, fidelity: bool = True) -> None:
    (folder / "conformance").mkdir(parents=True)
    counts = {"pass": 100, "fail": fails, "deviation": 3, "skip": 1, "proxy": 2}
    (folder / "conformance" / "results.json").write_text(json.dumps({"counts": counts}))
    facts: dict[str, object] = {"triage": {"untriaged": untriaged} if untriaged else {}}
    if fidelity:
        facts["fidelity"] = {"mock": {"agree": 9, "documented": 1, "differ": 0}}
        facts["case matrix"] = {"mock": {"agree": 40, "documented": 2, "differ": 1, "left out": 5}}
    (folder / "run.json").write_text(json.dumps({"seconds": {}, "facts": facts}))


def test_a_cell_is_summarised_from_its_reports(tmp_path: Path) -> None:
    cell = Cell("x", "3.1.4", fidelity=True)
    _fake_reports(tmp_path, fails=1, untriaged=1)
    result = summarise_cell(cell, tmp_path, 1, 12.34)
    assert result.suites == {"full": {"pass": 100, "fail": 1, "deviation": 3, "skip": 1, "proxy": 2}}
    assert result.untriaged == {"full": 1} and not result.passed and result.seconds == 12.3
    assert result.fidelity == {"script, mock": {"agree": 9, "documented": 1, "differ": 0},
                               "cases, mock": {"agree": 40, "documented": 2, "differ": 1, "left out": 5}}


def test_a_cell_with_exit_0_but_missing_results_does_not_pass(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_text(json.dumps({"facts": {}}))
    result = summarise_cell(Cell("x", "3.1.4", keys=None), tmp_path, 0, 1.0)
    assert not result.passed and result.problem == "no results for full, scoped, view-only-read-only"
    result = summarise_cell(Cell("y", "2.2.8", keys=None), tmp_path, 0, 1.0)
    assert result.problem == "no results for full, view-only-read-only"  # 2.x keys: no scoped run


def test_the_matrix_runs_each_cell_and_writes_its_report_after_each(tmp_path: Path) -> None:
    seen: list[RunOptions] = []

    def fake_run(options: RunOptions, log: object) -> int:
        seen.append(options)
        assert options.report_dir is not None
        bad = options.proxy == "nginx"
        _fake_reports(options.report_dir, fails=1 if bad else 0, untriaged=1 if bad else 0, fidelity=options.fidelity)
        return 1 if bad else 0

    lines: list[str] = []
    cells = cells_named("3.0-direct,3.1-nginx")
    results = run_matrix(cells, tmp_path, log=lines.append, run=fake_run)
    assert [o.report_dir for o in seen] == [tmp_path / "3.0-direct", tmp_path / "3.1-nginx"]
    assert [r.passed for r in results] == [True, False]
    report = json.loads((tmp_path / "matrix.json").read_text())
    assert report["passed"] is False and [c["cell"] for c in report["cells"]] == ["3.0-direct", "3.1-nginx"]
    text = (tmp_path / "matrix.md").read_text()
    assert "1 of 2 cells passed" in text and "| 3.0-direct | Flowise 3.0.13, direct, sqlite, main |" in text
    assert "script, mock: 9 agree, 1 documented, 0 differ; cases, mock: 40 agree" in text and "FAIL (exit 1)" in text
    assert "<tr class=fail><td>3.1-nginx" in (tmp_path / "matrix.html").read_text()
    assert lines[0].startswith("cell 1/2 3.0-direct")


def test_an_interrupted_cell_stops_the_matrix(tmp_path: Path) -> None:
    results = run_matrix(cells_named("3.0-direct,2.2-direct"), tmp_path, log=lambda line: None,
                         run=lambda options, log: 130)
    assert len(results) == 1 and not results[0].passed


@pytest.mark.parametrize(("argv", "message"), [
    (["--matrix", "--proxy", "caddy"], "--matrix sets these per cell: leave out --proxy"),
    (["--matrix", "--flowise-version", "2.2"], "leave out --flowise-version"),
    (["--matrix", "--cells", "nope"], "unknown cell nope"),
    (["--keys", "full,everything"], "--keys: unknown everything"),
])
def test_the_cli_refuses_what_does_not_fit(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and message in capsys.readouterr().err


def test_a_cell_run_again_alone_replaces_its_row_and_keeps_the_others(tmp_path: Path) -> None:
    outcomes = {"3.0-direct": 0, "3.1-nginx": 1}

    def fake_run(options: RunOptions, log: object) -> int:
        assert options.report_dir is not None
        name = options.report_dir.name
        if options.report_dir.exists():
            import shutil

            shutil.rmtree(options.report_dir)
        _fake_reports(options.report_dir, fails=outcomes[name], untriaged=outcomes[name], fidelity=options.fidelity)
        return outcomes[name]

    run_matrix(cells_named("3.0-direct,3.1-nginx"), tmp_path, log=lambda line: None, run=fake_run)
    assert json.loads((tmp_path / "matrix.json").read_text())["passed"] is False
    outcomes["3.1-nginx"] = 0  # fixed: run that cell again, alone, into the same folder
    run_matrix(cells_named("3.1-nginx"), tmp_path, log=lambda line: None, run=fake_run)
    report = json.loads((tmp_path / "matrix.json").read_text())
    assert [c["cell"] for c in report["cells"]] == ["3.0-direct", "3.1-nginx"]
    assert report["passed"] is True and all(c["ran"] for c in report["cells"])
    assert "2 of 2 cells passed" in (tmp_path / "matrix.md").read_text()
