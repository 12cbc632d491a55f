from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from load.report import build_summary, load_run_data, write_index, write_plots
from load.slo import SloSet, Threshold, evaluate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run_dir(tmp_path: Path, fixtures_dir: Path) -> Path:
    for name in ("metrics.json", "locust_stats.csv", "locust_stats_history.csv"):
        shutil.copy(fixtures_dir / name, tmp_path / name)
    return tmp_path


def test_plots_are_written_as_png(run_dir: Path) -> None:
    tmp_path = run_dir
    written = write_plots(load_run_data(run_dir), run_dir)
    assert set(written) == {"latency", "ttft", "tokens"}
    for name in written.values():
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name


def test_without_samples_only_the_locust_history_plot_remains(run_dir: Path) -> None:
    tmp_path = run_dir
    document = json.loads((tmp_path / "metrics.json").read_text())
    for section in ("streams", "predictions"):
        document[section] = {k: [] for k in document[section]}
    document["tokens_by_second"] = {}
    (tmp_path / "metrics.json").write_text(json.dumps(document))
    assert write_plots(load_run_data(tmp_path), tmp_path) == {"latency": "latency_percentiles.png"}


def test_index_embeds_plots_and_verdicts(run_dir: Path) -> None:
    tmp_path = run_dir
    data = load_run_data(run_dir)
    summary = build_summary(data, run={"target": "http://x", "profile": "chat"})
    verdicts = evaluate(SloSet((Threshold("ttft", "p99", max=100.0),), max_error_rate=0.5), summary["metrics"])
    summary["slo"] = {"passed": False, "verdicts": [v.to_dict() for v in verdicts]}
    plots = write_plots(data, tmp_path)
    page = write_index(summary, plots, tmp_path).read_text()
    for name in plots.values():
        assert f'<img src="{name}"' in page
    assert "FAILED" in page and "p99(ttft) &lt;= 100" in page
    assert page.count("class='fail'") == 1 and page.count("class='pass'") == 1
    assert "Inter-token latency (ITL) = (E2E - TTFT)" in page
    assert '<a href="metrics.json">' in page
