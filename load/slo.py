"""Service-level objectives: thresholds on the run's summary, and the verdict that sets the exit code.

A threshold names a metric of `summary.json` (`ttft`, `itl`, `e2e`, `rag_latency`, `error_rate`, ...),
a statistic of it (`p50`, `p90`, `p95`, `p99`, `mean`, `max`, or `value` for single numbers) and a
bound (`max` for "at most", `min` for "at least"), in the metric's own unit. A threshold whose metric
has no samples fails: an objective that could not be checked must not pass silently.

Each profile carries defaults (`load.profiles`); a file (TOML or YAML) overrides them per profile:

    [chat]                      # the profile name
    max_error_rate = 0.02       # the error budget, a fraction of requests
    [[chat.slo]]
    metric = "ttft"
    stat = "p99"
    max = 300                   # replaces the default p99 TTFT bound; other defaults stay

An entry for a (metric, stat) pair the profile already has replaces it; a new pair is added; an entry
with `max` and `min` both absent removes the pair. Precedence: the file over the built-in profile.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from load.errors import ConfigError

__all__ = ["SloSet", "Threshold", "Verdict", "evaluate", "load_overrides"]

STATS = ("p50", "p90", "p95", "p99", "mean", "max", "min", "value", "count")


@dataclass(frozen=True)
class Threshold:
    metric: str
    stat: str
    max: float | None = None
    min: float | None = None

    def __post_init__(self) -> None:
        if self.stat not in STATS:
            raise ConfigError(f"SLO on {self.metric!r}: unknown stat {self.stat!r} (one of {', '.join(STATS)})")
        if self.max is None and self.min is None:
            raise ConfigError(f"SLO {self.key}: needs `max` or `min`")

    @property
    def key(self) -> str:
        return f"{self.stat}({self.metric})"

    def describe(self) -> str:
        bounds = []
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        return f"{self.key} {' and '.join(bounds)}"


@dataclass(frozen=True)
class SloSet:
    """The objectives a run is judged by: thresholds plus the error budget."""

    thresholds: tuple[Threshold, ...]
    max_error_rate: float

    def with_overrides(self, section: Mapping[str, Any]) -> SloSet:
        known = {"max_error_rate", "slo"}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"SLO file: unknown key(s) {', '.join(sorted(unknown))} (expected {', '.join(known)})")
        by_key = {(t.metric, t.stat): t for t in self.thresholds}
        for entry in section.get("slo", []):
            if not isinstance(entry, Mapping) or "metric" not in entry or "stat" not in entry:
                raise ConfigError(f"SLO file: each slo entry needs `metric` and `stat`, got {entry!r}")
            extra = set(entry) - {"metric", "stat", "max", "min"}
            if extra:
                raise ConfigError(f"SLO file: unknown key(s) {', '.join(sorted(extra))} in {entry!r}")
            pair = (str(entry["metric"]), str(entry["stat"]))
            if entry.get("max") is None and entry.get("min") is None:
                by_key.pop(pair, None)
                continue
            by_key[pair] = Threshold(pair[0], pair[1], max=_number(entry.get("max")), min=_number(entry.get("min")))
        budget = section.get("max_error_rate", self.max_error_rate)
        if not isinstance(budget, int | float) or not 0 <= budget <= 1:
            raise ConfigError(f"SLO file: max_error_rate must be a fraction between 0 and 1, got {budget!r}")
        return replace(self, thresholds=tuple(by_key.values()), max_error_rate=float(budget))


@dataclass(frozen=True)
class Verdict:
    name: str
    passed: bool
    actual: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "actual": self.actual, "detail": self.detail}


def evaluate(slos: SloSet, metrics: Mapping[str, Mapping[str, Any]]) -> list[Verdict]:
    """Judge a summary's `metrics` section; one verdict per threshold, then one for the error budget."""
    verdicts = [_judge(threshold, metrics.get(threshold.metric)) for threshold in slos.thresholds]
    budget = Threshold("error_rate", "value", max=slos.max_error_rate)
    verdicts.append(_judge(budget, metrics.get("error_rate")))
    return verdicts


def _judge(threshold: Threshold, metric: Mapping[str, Any] | None) -> Verdict:
    name = threshold.describe()
    actual = None if metric is None else metric.get(threshold.stat)
    count = None if metric is None else metric.get("count")
    if actual is None or (count == 0 and threshold.stat != "count"):
        return Verdict(name, False, None, "no samples: the run produced no data for this metric")
    actual = float(actual)
    unit = metric.get("unit", "") if metric else ""
    ok = not math.isnan(actual)
    if threshold.max is not None:
        ok = ok and actual <= threshold.max
    if threshold.min is not None:
        ok = ok and actual >= threshold.min
    return Verdict(name, ok, actual, f"measured {actual:.4g} {unit}".rstrip())


def load_overrides(path: Path) -> dict[str, Any]:
    """Read an SLO file (TOML by default; YAML for .yaml/.yml) into {profile: section}."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read SLO file {path}: {exc.strerror}") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            document = yaml.safe_load(text) or {}
        else:
            document = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"SLO file {path} is not valid {path.suffix.lstrip('.') or 'TOML'}: {exc}") from exc
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise ConfigError(f"SLO file {path}: expected one table per profile name")
    return document


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"SLO file: bound must be a number, got {value!r}")
    return float(value)
