"""`index.html`: the page a person opens to see how a run went.

Verdicts first (what CI acted on), then the LLM numbers, the plots, the per-endpoint table and the
failure messages, with links to locust's own report and the raw files. A static file with relative
links, so the report directory can be archived as a CI artifact and opened anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

__all__ = ["KEY_METRICS", "render_index", "write_index"]

KEY_METRICS = (
    ("ttft", "Time to first token"),
    ("itl", "Inter-token latency"),
    ("e2e", "Stream end-to-end"),
    ("output_tokens_per_s", "Output tokens/s per stream"),
    ("aggregate_output_tokens_per_s", "Aggregate output tokens/s"),
    ("output_tokens", "Output tokens per stream"),
    ("prediction_latency", "Non-streaming prediction"),
    ("rag_latency", "RAG prediction"),
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: .3em .6em; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #17692b; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
img { max-width: 100%; border: 1px solid #eee; margin: .5em 0; } code { background: #f4f4f4; padding: 0 .2em; }
"""
FILES = ("summary.json", "metrics.json", "locust.html", "locust_stats.csv", "locust_stats_history.csv",
         "locust_failures.csv", "locust_exceptions.csv")


def write_index(summary: Mapping[str, Any], plots: Mapping[str, str], out_dir: Path) -> Path:
    path = out_dir / "index.html"
    present = [name for name in FILES if (out_dir / name).exists()]
    path.write_text(render_index(summary, plots, files=present))
    return path


def render_index(summary: Mapping[str, Any], plots: Mapping[str, str], *, files: list[str]) -> str:
    run = summary.get("run", {})
    slo = summary.get("slo", {})
    passed = slo.get("passed")
    status = "" if passed is None else (
        '<span class="pass">PASSED</span>' if passed else '<span class="fail">FAILED</span>')
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>flowise-load {escape(str(run.get('profile', '')))} {escape(str(run.get('run_id', '')))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>flowise-load: profile <code>{escape(str(run.get('profile', '?')))}</code> {status}</h1>",
        _run_table(run),
        _verdicts(slo.get("verdicts", [])),
        "<h2>LLM serving metrics</h2>",
        _metrics_table(summary.get("metrics", {})),
        f"<p><small>{escape(summary.get('definitions', {}).get('itl', ''))}</small></p>",
        "<h2>Plots</h2>",
        *(f'<p><img src="{escape(name)}" alt="{escape(key)}"></p>' for key, name in plots.items()),
        "" if plots else "<p>No samples to plot.</p>",
        "<h2>Requests (locust)</h2>",
        _requests_table(summary.get("requests", [])),
        _failures(summary.get("failures", {})),
        "<h2>Files</h2><ul>",
        *(f'<li><a href="{escape(name)}">{escape(name)}</a></li>' for name in files),
        "</ul></body></html>",
    ]
    return "\n".join(p for p in parts if p)


def _run_table(run: Mapping[str, Any]) -> str:
    keys = ("target", "profile", "users", "spawn_rate", "duration_s", "workers", "chatflow_id", "run_id", "started")
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(_fmt(run[k]))}</td></tr>" for k in keys if k in run)
    return f"<table>{rows}</table>"


def _verdicts(verdicts: list[Mapping[str, Any]]) -> str:
    if not verdicts:
        return ""
    rows = "".join(
        f"<tr><td class='{'pass' if v['passed'] else 'fail'}'>{'PASS' if v['passed'] else 'FAIL'}</td>"
        f"<td><code>{escape(v['name'])}</code></td><td>{escape(v['detail'])}</td></tr>"
        for v in verdicts)
    return f"<h2>Service-level objectives</h2><table><tr><th></th><th>objective</th><th>result</th></tr>{rows}</table>"


def _metrics_table(metrics: Mapping[str, Any]) -> str:
    head = "<tr><th>metric</th><th>unit</th><th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>"
    rows = []
    for key, label in KEY_METRICS:
        metric = metrics.get(key)
        if not metric or not metric.get("count"):
            continue
        label_text = label if "value" not in metric else f"{label} (overall {_fmt(metric['value'])})"
        cells = "".join(f"<td class='num'>{_fmt(metric.get(s))}</td>" for s in ("count", "mean", "p50", "p90", "p95", "p99", "max"))
        rows.append(f"<tr><td>{escape(label_text)}</td><td>{escape(metric['unit'])}</td>{cells}</tr>")
    outcomes = ", ".join(f"{k.removeprefix('streams_')} {v['value']}" for k, v in metrics.items()
                         if k.startswith("streams_") and v["value"])
    rates = []
    for key, label in (("request_rate", "requests/s"), ("error_rate", "error rate")):
        if metrics.get(key, {}).get("value") is not None:
            rates.append(f"{label} {_fmt(metrics[key]['value'])}")
    footer = f"<p>Streams: {escape(outcomes or 'none')}. {escape('; '.join(rates))}.</p>"
    return (f"<table>{head}{''.join(rows)}</table>" if rows else "<p>No streamed or predicted samples.</p>") + footer


def _requests_table(rows: list[Mapping[str, Any]]) -> str:
    head = ("<tr><th>type</th><th>name</th><th>count</th><th>failures</th><th>req/s</th><th>mean</th>"
            "<th>p50</th><th>p90</th><th>p99</th><th>unit</th></tr>")
    body = "".join(
        f"<tr><td>{escape(str(r['type']))}</td><td>{escape(str(r['name']))}</td>"
        + "".join(f"<td class='num'>{_fmt(r.get(k))}</td>" for k in ("count", "failures", "rps", "mean", "p50", "p90", "p99"))
        + f"<td>{escape(r['unit'])}</td></tr>"
        for r in rows)
    return f"<table>{head}{body}</table>"


def _failures(failures: Mapping[str, int]) -> str:
    if not failures:
        return ""
    items = "".join(f"<li>{count} × {escape(message)}</li>" for message, count in failures.items())
    return f"<h2>Failures</h2><ul>{items}</ul>"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)
