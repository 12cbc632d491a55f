"""`summary.json`: every number of a run with its unit, count, mean and p50/p90/p95/p99, in one document.

Sources: `metrics.json` (exact per-request samples; locust's rounded histogram would blur a
calibration) for the LLM metrics, and locust's statistics for per-endpoint rows, taken from the final
snapshot in `metrics.json` when present, else from `locust_stats.csv` (which lags the end of the run by
up to a second, so it is only the fallback). The document is what the SLO verdicts read and what the
HTML report and the terminal print.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from load.metrics import DEFINITIONS, DERIVED_TYPE, Outcome
from load.recorder import load_metrics

__all__ = ["SUMMARY_SCHEMA", "RunData", "build_summary", "describe", "load_run_data", "write_summary"]

SUMMARY_SCHEMA = "flowise-load/summary/1"
REPORTED = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0))


@dataclass
class RunData:
    """The inputs of every report builder, read once from a report directory."""

    metrics: dict[str, Any]
    requests: list[dict[str, Any]]
    history: list[dict[str, str]]


def load_run_data(report_dir: Path) -> RunData:
    metrics = load_metrics(report_dir / "metrics.json")
    requests = metrics.get("requests") or read_stats_csv(report_dir / "locust_stats.csv")
    return RunData(metrics=metrics, requests=requests, history=read_history_csv(report_dir / "locust_stats_history.csv"))


def read_stats_csv(path: Path) -> list[dict[str, Any]]:
    """locust's `_stats.csv` as request rows shaped like the snapshot in `metrics.json`."""
    if not path.exists():
        return []
    rows = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            count = int(row["Request Count"])
            percentiles = {f"{p / 100:g}": _float(row.get(f"{p:g}%")) for p in (50, 90, 95, 99)} if count else {}
            rows.append({
                "type": row["Type"], "name": row["Name"], "count": count, "failures": int(row["Failure Count"]),
                "mean": _float(row["Average Response Time"]), "min": _float(row["Min Response Time"]),
                "max": _float(row["Max Response Time"]), "rps": _float(row["Requests/s"]),
                "avg_content_length": _float(row["Average Content Size"]), "percentiles": percentiles,
            })
    return rows


def read_history_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def describe(values: Iterable[float | None], unit: str) -> dict[str, Any]:
    """count, mean, min, max and the reported percentiles (linear interpolation) of the non-missing values."""
    data = np.array([v for v in values if v is not None], dtype=float)
    result: dict[str, Any] = {"unit": unit, "count": int(data.size)}
    if not data.size:
        return result
    result.update(mean=float(data.mean()), min=float(data.min()), max=float(data.max()))
    for name, q in REPORTED:
        result[name] = float(np.percentile(data, q))
    return result


def build_summary(data: RunData, *, run: Mapping[str, Any] | None = None) -> dict[str, Any]:
    meta = data.metrics.get("meta", {})
    duration_s = _duration(meta)
    streams = data.metrics["streams"]
    predictions = data.metrics["predictions"]
    metrics: dict[str, Any] = {
        "ttft": describe(streams["ttft_ms"], "ms"),
        "itl": describe(streams["itl_ms"], "ms"),
        "e2e": describe(_where(streams["e2e_ms"], streams["outcome"], Outcome.OK.value), "ms"),
        "output_tokens": describe(_where(streams["tokens"], streams["outcome"], Outcome.OK.value), "tokens"),
        "output_tokens_per_s": describe(streams["tokens_per_s"], "tokens/s"),
        "aggregate_output_tokens_per_s": _aggregate_tokens(data.metrics["tokens_by_second"], duration_s),
        "prediction_latency": describe(_where(predictions["latency_ms"], predictions["kind"], "prediction",
                                              predictions["ok"]), "ms"),
        "rag_latency": describe(_where(predictions["latency_ms"], predictions["kind"], "rag", predictions["ok"]), "ms"),
    }
    outcomes = streams["outcome"]
    for outcome in Outcome:
        metrics[f"streams_{outcome.value}"] = {"unit": "streams", "value": outcomes.count(outcome.value)}
    rag_ok = [s for s, k, ok in zip(predictions["sources"], predictions["kind"], predictions["ok"], strict=True)
              if k == "rag" and ok]
    if rag_ok:
        metrics["rag_answers_with_sources"] = {"unit": "ratio", "count": len(rag_ok),
                                               "value": sum(1 for s in rag_ok if s) / len(rag_ok)}
    http_rows = [r for r in data.requests if r["type"] != DERIVED_TYPE]
    total = sum(r["count"] for r in http_rows)
    failures = sum(r["failures"] for r in http_rows)
    metrics["request_rate"] = {"unit": "req/s", "count": total, "value": total / duration_s if duration_s else None}
    metrics["error_rate"] = {"unit": "ratio", "count": total, "failures": failures,
                             "value": failures / total if total else None}
    return {
        "schema": SUMMARY_SCHEMA,
        "run": {**meta, "duration_s": duration_s, **(run or {})},
        "definitions": DEFINITIONS,
        "metrics": metrics,
        "requests": [_request_row(r) for r in data.requests],
        "failures": dict(sorted(data.metrics.get("messages", {}).items(), key=lambda kv: -kv[1])),
    }


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(summary, indent=2, allow_nan=False, default=_finite) + "\n")


def _request_row(row: Mapping[str, Any]) -> dict[str, Any]:
    unit = "tokens/s" if row["type"] == DERIVED_TYPE and "tokens/s" in row["name"] else "ms"
    result = {"type": row["type"], "name": row["name"], "unit": unit, "count": row["count"],
              "failures": row["failures"], "rps": row["rps"], "mean": row["mean"]}
    percentiles = row.get("percentiles") or {}
    for name, q in REPORTED:
        result[name] = percentiles.get(f"{q / 100:g}")
    result["max"] = row["max"]
    result["resolution"] = "locust histogram (about 2 significant digits)"
    return result


def _aggregate_tokens(by_second: Mapping[str, int], duration_s: float | None) -> dict[str, Any]:
    """Total output tokens over the run's wall time, plus the distribution of the per-second rate."""
    total = sum(by_second.values())
    result = describe(_per_second_series(by_second), "tokens/s")
    result["total_tokens"] = total
    result["value"] = total / duration_s if duration_s else None
    return result


def _per_second_series(by_second: Mapping[str, int]) -> list[float]:
    if not by_second:
        return []
    seconds = sorted(int(k) for k in by_second)
    return [float(by_second.get(str(s), 0)) for s in range(seconds[0], seconds[-1] + 1)]


def _where(values: Sequence[Any], keys: Sequence[Any], wanted: Any, oks: Sequence[bool] | None = None) -> list[Any]:
    oks = oks if oks is not None else [True] * len(values)
    return [v for v, k, ok in zip(values, keys, oks, strict=True) if k == wanted and ok]


def _duration(meta: Mapping[str, Any]) -> float | None:
    start, stop = meta.get("started_at"), meta.get("stopped_at")
    if start is None or stop is None or stop <= start:
        return None
    return float(stop) - float(start)


def _float(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "", "N/A") else None
    except ValueError:
        return None
    return number if number is None or math.isfinite(number) else None


def _finite(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")
