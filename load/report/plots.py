"""PNG plots of a run: latency percentiles over time, the TTFT distribution, output tokens/s over time.

Built with matplotlib's object API (`Figure`, no pyplot), so nothing global is touched and no display
is needed. Latency over time comes from the exact samples in `metrics.json` (windowed by completion
time); a run without prediction samples (management only) falls back to the percentiles locust
wrote to `locust_stats_history.csv`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from load.metrics import Outcome
from load.report.summary import RunData

__all__ = ["PLOTS", "write_plots"]

PLOTS = {
    "latency": "latency_percentiles.png",
    "ttft": "ttft_distribution.png",
    "tokens": "tokens_per_second.png",
}
MAX_WINDOWS = 60
SIZE = (9, 4.5)


def write_plots(data: RunData, out_dir: Path) -> dict[str, str]:
    """Write every plot the data allows; returns {plot key: file name} of those written."""
    written = {}
    start = data.metrics.get("meta", {}).get("started_at") or _first_start(data.metrics)
    for key, builder in (("latency", _latency), ("ttft", _ttft), ("tokens", _tokens)):
        figure = builder(data, start)
        if figure is not None:
            figure.savefig(out_dir / PLOTS[key], dpi=100)
            written[key] = PLOTS[key]
    return written


def _series(data: RunData) -> list[tuple[str, list[float], list[float]]]:
    """(label, completion times, latencies ms) for each latency series with samples."""
    streams, predictions = data.metrics["streams"], data.metrics["predictions"]
    series = []
    ttft = [(s + v / 1000, v) for s, v in zip(streams["started_at"], streams["ttft_ms"], strict=True) if v is not None]
    e2e = [(s + v / 1000, v) for s, v, o in zip(streams["started_at"], streams["e2e_ms"], streams["outcome"], strict=True)
           if v is not None and o == Outcome.OK.value]
    series += [("TTFT", *_unzip(ttft)), ("stream E2E", *_unzip(e2e))]
    for kind, label in (("prediction", "prediction"), ("rag", "RAG prediction")):
        rows = [(s + v / 1000, v) for s, k, v, ok in zip(predictions["started_at"], predictions["kind"],
                                                         predictions["latency_ms"], predictions["ok"], strict=True)
                if k == kind and ok]
        series.append((label, *_unzip(rows)))
    return [s for s in series if s[1]]


def _latency(data: RunData, start: float | None) -> Figure | None:
    series = _series(data)
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    if series and start is not None:
        end = max(max(times) for _, times, _ in series)
        width = max(1.0, math.ceil((end - start) / MAX_WINDOWS))
        for index, (label, times, values) in enumerate(series):
            color = f"C{index}"
            centers, p50, p99 = _windowed(np.array(times) - start, np.array(values), width)
            axes.plot(centers, p50, color=color, label=f"{label} p50")
            axes.plot(centers, p99, color=color, linestyle="--", label=f"{label} p99")
        axes.set_title(f"Latency percentiles over time ({width:g} s windows, by completion)")
    elif data.history:
        rows = [r for r in data.history if r["Name"] == "Aggregated" and r["50%"] not in ("N/A", "")]
        if not rows:
            return None
        t0 = float(rows[0]["Timestamp"])
        times = [float(r["Timestamp"]) - t0 for r in rows]
        for column in ("50%", "95%", "99%"):
            axes.plot(times, [float(r[column]) for r in rows], label=f"all requests {column}")
        axes.set_title("Latency percentiles over time (locust, 10 s sliding window)")
    else:
        return None
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("ms")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    return figure


def _ttft(data: RunData, start: float | None) -> Figure | None:
    values = np.array([v for v in data.metrics["streams"]["ttft_ms"] if v is not None], dtype=float)
    if not values.size:
        return None
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    axes.hist(values, bins=min(60, max(10, int(math.sqrt(values.size)))), color="C0", alpha=0.8)
    for q, style in ((50, "-"), (90, "--"), (99, ":")):
        value = float(np.percentile(values, q))
        axes.axvline(value, color="black", linestyle=style, label=f"p{q} = {value:.1f} ms")
    axes.set_title(f"Time to first token ({values.size} streams)")
    axes.set_xlabel("ms")
    axes.set_ylabel("streams")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def _tokens(data: RunData, start: float | None) -> Figure | None:
    by_second = {int(k): v for k, v in data.metrics["tokens_by_second"].items()}
    if not by_second:
        return None
    first = int(start) if start is not None else min(by_second)
    seconds = np.arange(min(first, min(by_second)), max(by_second) + 1)
    counts = np.array([by_second.get(int(s), 0) for s in seconds], dtype=float)
    figure = Figure(figsize=SIZE)
    axes = figure.add_subplot()
    x = seconds - first
    axes.bar(x, counts, width=1.0, color="C2", alpha=0.5, label="per second")
    if counts.size >= 5:
        # Divide by the number of seconds actually inside the window, so the edges are not pulled down.
        smooth = np.convolve(counts, np.ones(5), mode="same") / np.convolve(np.ones_like(counts), np.ones(5), mode="same")
        axes.plot(x, smooth, color="C2", label="5 s moving mean")
    users = _users_over_time(data.history, first)
    if users:
        twin = axes.twinx()
        twin.step(*users, where="post", color="C7", alpha=0.7, label="users")
        twin.set_ylabel("users")
        twin.set_ylim(bottom=0)
    axes.set_title("Aggregate output tokens per second")
    axes.set_xlabel("seconds since start")
    axes.set_ylabel("tokens/s")
    axes.legend(fontsize="small", loc="upper left")
    figure.tight_layout()
    return figure


def _users_over_time(history: Sequence[dict[str, str]], first: int) -> tuple[list[float], list[float]] | None:
    rows = [r for r in history if r["Name"] == "Aggregated"]
    if not rows:
        return None
    return [float(r["Timestamp"]) - first for r in rows], [float(r["User Count"]) for r in rows]


def _windowed(times: np.ndarray, values: np.ndarray, width: float) -> tuple[list[float], list[float], list[float]]:
    buckets = np.floor(times / width).astype(int)
    centers, p50, p99 = [], [], []
    for bucket in np.unique(buckets):
        window = values[buckets == bucket]
        centers.append((bucket + 0.5) * width)
        p50.append(float(np.percentile(window, 50)))
        p99.append(float(np.percentile(window, 99)))
    return centers, p50, p99


def _unzip(pairs: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _first_start(metrics: dict[str, Any]) -> float | None:
    starts = metrics["streams"]["started_at"] + metrics["predictions"]["started_at"]
    return min(starts) if starts else None
