from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from load.metrics import ITL_DEFINITION
from load.report.summary import build_summary, describe, load_run_data, read_stats_csv, write_summary


@pytest.fixture
def run_dir(tmp_path: Path, fixtures_dir: Path) -> Path:
    for name in ("metrics.json", "locust_stats.csv", "locust_stats_history.csv"):
        shutil.copy(fixtures_dir / name, tmp_path / name)
    return tmp_path


def test_describe_reports_unit_count_mean_and_percentiles() -> None:
    stats = describe([10.0, 20.0, 30.0, 40.0, None, 50.0], "ms")
    assert stats["unit"] == "ms" and stats["count"] == 5
    assert stats["mean"] == pytest.approx(30.0)
    assert stats["p50"] == pytest.approx(30.0)
    assert stats["p90"] == pytest.approx(46.0)
    assert stats["p99"] == pytest.approx(49.6)
    assert describe([], "ms") == {"unit": "ms", "count": 0}


def test_summary_from_fixture(run_dir: Path) -> None:
    summary = build_summary(load_run_data(run_dir), run={"target": "http://x"})
    metrics = summary["metrics"]
    assert summary["schema"] == "flowise-load/summary/1"
    assert summary["run"]["target"] == "http://x" and summary["run"]["duration_s"] == pytest.approx(5.0)
    assert summary["definitions"]["itl"] == ITL_DEFINITION
    # TTFT includes the aborted stream's first token; E2E and ITL only ok streams.
    assert metrics["ttft"]["count"] == 6 and metrics["ttft"]["p50"] == pytest.approx(125.0)
    assert metrics["e2e"]["count"] == 5 and metrics["e2e"]["mean"] == pytest.approx(200.0)
    assert metrics["itl"]["p99"] == pytest.approx(20.0)
    for name in ("ttft", "itl", "e2e", "output_tokens_per_s", "prediction_latency", "rag_latency"):
        assert {"unit", "count", "mean", "p50", "p90", "p95", "p99"} <= set(metrics[name]), name
    assert metrics["aggregate_output_tokens_per_s"]["value"] == pytest.approx(27 / 5.0)
    assert metrics["aggregate_output_tokens_per_s"]["total_tokens"] == 27
    assert metrics["prediction_latency"]["count"] == 1  # the failed one is not a latency sample
    assert metrics["rag_latency"]["mean"] == pytest.approx(1500.0)
    assert metrics["rag_answers_with_sources"]["value"] == pytest.approx(0.5)
    assert [metrics[f"streams_{o}"]["value"] for o in ("ok", "error", "aborted", "empty", "http_error")] == [5, 1, 1, 1, 0]
    # The final snapshot in metrics.json wins over the lagging CSV; LLM rows are not requests.
    assert metrics["error_rate"] == {"unit": "ratio", "count": 12, "failures": 4, "value": pytest.approx(4 / 12)}
    assert metrics["request_rate"]["value"] == pytest.approx(12 / 5.0)
    ttft_row = next(r for r in summary["requests"] if r["name"] == "TTFT")
    assert ttft_row["unit"] == "ms" and ttft_row["p99"] == 150
    assert next(iter(summary["failures"])) in {"error: Error: boom", "prediction: HTTP 500: boom"}


def test_csv_is_the_fallback_without_a_snapshot(run_dir: Path) -> None:
    document = json.loads((run_dir / "metrics.json").read_text())
    del document["requests"]
    (run_dir / "metrics.json").write_text(json.dumps(document))
    summary = build_summary(load_run_data(run_dir))
    assert summary["metrics"]["error_rate"]["count"] == 7 + 2 + 10
    assert summary["metrics"]["error_rate"]["failures"] == 3
    rows = read_stats_csv(run_dir / "locust_stats.csv")
    assert [r["name"] for r in rows] == ["prediction (stream)", "TTFT", "prediction", "/api/v1/chatflows"]
    assert rows[0]["percentiles"]["0.99"] == 220


def test_written_summary_is_strict_json(run_dir: Path) -> None:
    path = run_dir / "summary.json"
    write_summary(path, build_summary(load_run_data(run_dir)))
    assert json.loads(path.read_text(), parse_constant=lambda name: pytest.fail(f"non-JSON constant {name}"))
