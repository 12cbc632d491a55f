from __future__ import annotations

from pathlib import Path

import pytest

from load.cli import resolve_slos
from load.errors import ConfigError
from load.profiles import PROFILES
from load.slo import SloSet, Threshold, evaluate, load_overrides

METRICS = {
    "ttft": {"unit": "ms", "count": 100, "p99": 180.0, "p50": 90.0},
    "itl": {"unit": "ms", "count": 100, "p99": 61.0},
    "rag_latency": {"unit": "ms", "count": 0},
    "aggregate_output_tokens_per_s": {"unit": "tokens/s", "count": 10, "value": 900.0},
    "error_rate": {"unit": "ratio", "count": 1000, "failures": 5, "value": 0.005},
}


def by_name(verdicts):
    return {v.name: v for v in verdicts}


def test_default_chat_profile_thresholds() -> None:
    chat = PROFILES["chat"].slos
    assert {(t.metric, t.stat, t.max) for t in chat.thresholds} == {("ttft", "p99", 200.0), ("itl", "p99", 50.0)}
    assert {(t.metric, t.stat, t.max) for t in PROFILES["rag"].slos.thresholds} == {("rag_latency", "p99", 3000.0)}


def test_pass_and_fail_verdicts() -> None:
    verdicts = by_name(evaluate(PROFILES["chat"].slos, METRICS))
    assert verdicts["p99(ttft) <= 200"].passed
    assert not verdicts["p99(itl) <= 50"].passed
    assert verdicts["p99(itl) <= 50"].actual == 61.0
    assert verdicts["value(error_rate) <= 0.01"].passed


def test_error_budget_breaks() -> None:
    verdicts = evaluate(SloSet((), max_error_rate=0.001), METRICS)
    assert [(v.name, v.passed) for v in verdicts] == [("value(error_rate) <= 0.001", False)]


def test_metric_without_samples_fails_rather_than_passing() -> None:
    verdict = by_name(evaluate(PROFILES["rag"].slos, METRICS))["p99(rag_latency) <= 3000"]
    assert not verdict.passed and "no samples" in verdict.detail


def test_minimum_bound() -> None:
    slos = SloSet((Threshold("aggregate_output_tokens_per_s", "value", min=1000.0),), max_error_rate=1.0)
    assert not evaluate(slos, METRICS)[0].passed


def test_toml_override_replaces_adds_and_removes(tmp_path: Path) -> None:
    path = tmp_path / "slo.toml"
    path.write_text(
        "[chat]\nmax_error_rate = 0.1\n"
        '[[chat.slo]]\nmetric = "itl"\nstat = "p99"\nmax = 70\n'
        '[[chat.slo]]\nmetric = "aggregate_output_tokens_per_s"\nstat = "value"\nmin = 500\n'
        '[[chat.slo]]\nmetric = "ttft"\nstat = "p99"\n'
    )
    slos = resolve_slos(PROFILES["chat"], path)
    assert slos.max_error_rate == 0.1
    assert {t.describe() for t in slos.thresholds} == {"p99(itl) <= 70", "value(aggregate_output_tokens_per_s) >= 500"}
    assert all(v.passed for v in evaluate(slos, METRICS))


def test_yaml_override_for_another_profile_leaves_this_one(tmp_path: Path) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text("rag:\n  slo:\n    - {metric: rag_latency, stat: p99, max: 5000}\n")
    assert resolve_slos(PROFILES["chat"], path) == PROFILES["chat"].slos
    assert resolve_slos(PROFILES["rag"], path).thresholds == (Threshold("rag_latency", "p99", max=5000.0),)


@pytest.mark.parametrize(("text", "message"), [
    ("[nosuch]\nmax_error_rate = 0.1\n", "unknown profile"),
    ("[chat]\nmax_error_rate = 2\n", "fraction between 0 and 1"),
    ('[chat]\nslo = [{metric = "ttft", stat = "p42", max = 1}]\n', "unknown stat"),
    ('[chat]\nslo = [{metric = "ttft", stat = "p99", max = "fast"}]\n', "must be a number"),
    ("[chat]\nbudget = 1\n", "unknown key"),
    ("[chat\n", "not valid"),
])
def test_bad_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "slo.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        resolve_slos(PROFILES["chat"], path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read SLO file"):
        load_overrides(tmp_path / "absent.toml")
