"""The report a person reads: what an operator needs first, then a matrix of operation × check,
then every failure with its curl.

It leads with the target, the Flowise version the run detected and the profile it applied, the
path to it (TLS, HTTP version, the proxy in front when recognised) and a verdict per area (auth,
CRUD, predictions, streaming, limits, deployment; `summary.py`); the matrix is the detail view.

One self-contained HTML file (inline CSS, no script, no external asset) so it can be attached to a
ticket or opened from a CI artefact. Failures come first and each shows the request as a curl
command and the response received; deviations show their upstream reference; skips their reason.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from conformance.outcomes import Outcome, RunReport, Status
from conformance.reports.summary import area_verdicts

__all__ = ["render_html", "write_html"]

_SYMBOL = {Status.PASS: "✓", Status.FAIL: "✗", Status.DEVIATION: "≈", Status.SKIP: "–", Status.PROXY: "⇄"}
_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.8rem}
th,td{border:1px solid #ddd;padding:.2rem .4rem;text-align:center}
th.op{text-align:left;white-space:nowrap}
thead th{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;vertical-align:bottom}
td.pass{background:#d9f2d9}td.fail{background:#f8c9c9;font-weight:bold}
td.deviation{background:#fbe7b5}td.skip{background:#eee;color:#777}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;margin-right:.4rem}
.pass{background:#d9f2d9}.fail{background:#f8c9c9}.deviation{background:#fbe7b5}.skip{background:#eee}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:.8rem}
.finding{border-left:4px solid #c33;padding-left:1rem;margin:1rem 0}
.finding.deviation{border-color:#d9a400}.finding.proxy{border-color:#5b8dd6}
td.proxy,.proxy{background:#dce8fa}.warning{background:#fde3c0}.not-tested{background:#eee}
table.areas td,table.facts td{text-align:left}
"""


def _counts(report: RunReport) -> str:
    counts = report.counts()
    return " ".join(f'<span class="badge {status}">{status}: {counts[status]}</span>' for status in counts)


def _matrix(report: RunReport) -> str:
    operations, checks, cells = report.matrix()
    if not operations:
        return "<p>No results.</p>"
    head = "".join(f"<th>{escape(check)}</th>" for check in checks)
    rows = []
    for operation in operations:
        row = [f'<th class="op">{escape(operation)}</th>']
        for check in checks:
            status = cells.get((operation, check))
            if status is None:
                row.append("<td></td>")
            else:
                row.append(f'<td class="{status.value}" title="{status.value}">{_SYMBOL[status]}</td>')
        rows.append("<tr>" + "".join(row) + "</tr>")
    return f'<table><thead><tr><th class="op">operation</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _finding(outcome: Outcome) -> str:
    parts = [
        f'<div class="finding {outcome.status.value}">',
        f"<h3>{escape(outcome.operation)} · {escape(outcome.check)}</h3>",
        f"<p>{escape(outcome.message)}</p>",
    ]
    if outcome.deviation is not None and outcome.status is Status.PROXY:
        parts.append(f"<p>The proxy's doing <b>{escape(outcome.deviation.id)}</b>: {escape(outcome.deviation.summary)} "
                     f"<i>({escape(outcome.deviation.reference)})</i></p>")
    elif outcome.deviation is not None:
        parts.append(
            f"<p>Known deviation <b>{escape(outcome.deviation.id)}</b>: {escape(outcome.deviation.summary)} "
            f"<i>({escape(outcome.deviation.reference)})</i></p>"
        )
    if outcome.exchange is not None:
        parts.append("<p>Request:</p>")
        parts.append(f"<pre>{escape(outcome.exchange.curl)}</pre>")
        parts.append("<p>Response:</p>")
        parts.append(f"<pre>{escape(outcome.exchange.describe_response())}</pre>")
    if outcome.source:
        parts.append(f"<p><small>{escape(outcome.source)}</small></p>")
    parts.append("</div>")
    return "".join(parts)


def _skips(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "<p>None.</p>"
    items = "".join(
        f"<li><b>{escape(outcome.operation)} · {escape(outcome.check)}</b>: {escape(outcome.message)}</li>"
        for outcome in outcomes
    )
    return f"<ul>{items}</ul>"


def _facts(report: RunReport) -> str:
    facts = report.target_facts or {}
    version = facts.get("version") if isinstance(facts.get("version"), dict) else {}
    deployment = facts.get("deployment") if isinstance(facts.get("deployment"), dict) else {}
    rows = [("target", report.target)]
    if version:
        rows.append(("Flowise version", f"{version.get('version') or 'unknown'} ({version.get('source')})"))
        rows.append(("profile applied", str(version.get("note") or version.get("profile"))))
    if deployment:
        rows.append(("proxy in front", str(deployment.get("proxy") or "none recognised")
                     + (f" ({deployment.get('proxy_evidence')})" if deployment.get("proxy_evidence") else "")))
        rows.append(("connection", " · ".join(str(part) for part in (
            str(deployment.get("scheme", "")).upper(), deployment.get("http_version"), deployment.get("tls")) if part)))
        if deployment.get("path_prefix"):
            rows.append(("path prefix", str(deployment["path_prefix"])))
    body = "".join(f"<tr><th class='op'>{escape(name)}</th><td>{escape(value)}</td></tr>" for name, value in rows)
    return f"<table class='facts'>{body}</table>"


def _areas(report: RunReport) -> str:
    rows = []
    for verdict in area_verdicts(report):
        css = verdict.verdict.replace(" ", "-")
        counts = ", ".join(f"{count} {status}" for status, count in sorted(verdict.counts.items())) or "no checks"
        details = "".join(f"<br><small>{escape(line)}</small>" for line in verdict.highlights)
        rows.append(f"<tr><th class='op'>{escape(verdict.area)}</th><td class='{css}'>{escape(verdict.verdict)}</td>"
                    f"<td>{escape(counts)}{details}</td></tr>")
    return f"<table class='areas'><thead></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(report: RunReport) -> str:
    failed = report.failed
    deviations = [o for o in report.outcomes if o.status is Status.DEVIATION and o not in failed]
    skipped = [o for o in report.outcomes if o.status is Status.SKIP]
    proxied = [o for o in report.outcomes if o.status is Status.PROXY]
    capabilities = "".join(
        f"<tr><th class='op'>{escape(str(key))}</th><td>{escape(str(value))}</td></tr>"
        for key, value in report.capabilities.items()
    )
    notes = "".join(
        f"<tr><th class='op'>{escape(str(key))}</th><td>{escape(str(value))}</td></tr>"
        for key, value in report.notes.items()
    )
    verdict = "PASSED" if report.ok else "FAILED"
    return "".join(
        [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>Flowise conformance {escape(report.run_id)}: {verdict}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>Flowise conformance: {verdict}</h1>",
            f"<p>Target <b>{escape(report.target)}</b> · run <code>{escape(report.run_id)}</code> · "
            f"{escape(report.started)} → {escape(report.finished)}"
            f"{' · read-only' if report.read_only else ''}{' · strict' if report.strict else ''}</p>",
            f"<p>{_counts(report)}</p>",
            _facts(report),
            "<h2>Verdict per area</h2>",
            _areas(report),
            f"<h2>Failures ({len(failed)})</h2>",
            "".join(_finding(outcome) for outcome in failed) or "<p>None.</p>",
            f"<h2>The proxy's doing ({len(proxied)})</h2>",
            "<p>Answers the proxy in front wrote or changed: not Flowise's behaviour, not failures.</p>"
            if proxied else "",
            "".join(_finding(outcome) for outcome in proxied) or "<p>None.</p>",
            "<h2>Details: operation × check</h2>",
            "<p>✓ pass · ✗ fail · ≈ known deviation · ⇄ the proxy's doing · – skipped</p>",
            _matrix(report),
            f"<h2>Known deviations ({len(deviations)})</h2>",
            "".join(_finding(outcome) for outcome in deviations) or "<p>None.</p>",
            f"<h2>Skipped ({len(skipped)})</h2>",
            _skips(skipped),
            "<h2>Target capabilities</h2>",
            f"<table>{capabilities}</table>",
            "<h2>Notes</h2>" if notes else "",
            f"<table>{notes}</table>" if notes else "",
            "</body></html>",
        ]
    )


def write_html(report: RunReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
