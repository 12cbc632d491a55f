"""Exact per-request samples of a run, kept beside locust's own statistics.

locust rounds response times into a histogram (to 1 ms below 100 ms, to 10 ms below 1 s), which is
fine for its tables but too coarse to hold a calibration within a few percent, and it has no place
for values that are not times (tokens, tokens/s). So every locust process also keeps the exact
samples here: workers hand theirs to the master with each stats report (`drain` / `merge`), and the
master (or the single local process) writes them as `metrics.json` at the end, which the report
builders read. Nothing here imports locust.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from load.metrics import Outcome, StreamResult

__all__ = ["METRICS_SCHEMA", "Recorder", "load_metrics"]

METRICS_SCHEMA = "flowise-load/metrics/1"
MAX_MESSAGES = 20
"""Distinct failure messages kept (with counts); the rest are counted under one key."""

STREAM_COLUMNS = ("started_at", "outcome", "tokens", "ttft_ms", "e2e_ms", "itl_ms", "tokens_per_s")
PREDICTION_COLUMNS = ("started_at", "kind", "latency_ms", "ok", "sources")


class Recorder:
    """Columnar sample store: one list per column keeps memory and the JSON small for long runs."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.streams: dict[str, list[Any]] = {name: [] for name in STREAM_COLUMNS}
        self.predictions: dict[str, list[Any]] = {name: [] for name in PREDICTION_COLUMNS}
        self.tokens_by_second: Counter[int] = Counter()
        self.messages: Counter[str] = Counter()

    def add_stream(self, result: StreamResult) -> None:
        row = (result.started_at, result.outcome.value, result.tokens, result.ttft_ms, result.e2e_ms,
               result.itl_ms, result.output_tokens_per_s)
        for name, value in zip(STREAM_COLUMNS, row, strict=True):
            self.streams[name].append(value)
        base = result.started_at
        for offset in result.token_offsets_ms:
            self.tokens_by_second[int(base + offset / 1000.0)] += 1
        if result.outcome is not Outcome.OK:
            self._message(f"{result.outcome.value}: {result.message}")

    def add_prediction(self, *, kind: str, started_at: float, latency_ms: float, ok: bool, sources: int,
                       message: str = "") -> None:
        row = (started_at, kind, latency_ms, ok, sources)
        for name, value in zip(PREDICTION_COLUMNS, row, strict=True):
            self.predictions[name].append(value)
        if not ok:
            self._message(f"{kind}: {message}")

    def drain(self) -> dict[str, Any]:
        """Everything recorded since the last drain, as plain data (what a worker sends its master)."""
        data = self.to_dict()
        self._reset()
        return data

    def merge(self, data: dict[str, Any]) -> None:
        for name in STREAM_COLUMNS:
            self.streams[name].extend(data["streams"][name])
        for name in PREDICTION_COLUMNS:
            self.predictions[name].extend(data["predictions"][name])
        self.tokens_by_second.update({int(k): v for k, v in data["tokens_by_second"].items()})
        self.messages.update(data["messages"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "streams": {k: list(v) for k, v in self.streams.items()},
            "predictions": {k: list(v) for k, v in self.predictions.items()},
            "tokens_by_second": {str(k): v for k, v in sorted(self.tokens_by_second.items())},
            "messages": dict(self.messages),
        }

    def write(self, path: Path, *, meta: dict[str, Any], requests: list[dict[str, Any]] | None = None) -> None:
        document = {"schema": METRICS_SCHEMA, "meta": meta, **self.to_dict()}
        if requests is not None:
            document["requests"] = requests
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, default=_json_default, allow_nan=False))

    def _message(self, message: str) -> None:
        if message in self.messages or len(self.messages) < MAX_MESSAGES:
            self.messages[message] += 1
        else:
            self.messages["(other messages)"] += 1


def _json_default(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"not JSON serialisable: {value!r}")


def load_metrics(path: Path) -> dict[str, Any]:
    """Read a `metrics.json`, refusing a file of another schema rather than misreading it."""
    document = json.loads(path.read_text())
    if document.get("schema") != METRICS_SCHEMA:
        raise ValueError(f"{path}: not a {METRICS_SCHEMA} file (schema={document.get('schema')!r})")
    return document
