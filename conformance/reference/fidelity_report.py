"""Write the side-by-side comparison as `fidelity.md` and `fidelity.html`, one row per exchange.

Markdown for a diff in review, HTML for reading: the same table, with each target's status, media
type and event sequence, each mock's verdict and the differences that led to it, then the
deviation-by-deviation confirmation on the real server. Previews are scrubbed of ids and secrets.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from conformance.reference.fidelity import Fidelity, Row
from conformance.reference.normalise import Normalised

__all__ = ["render_html", "render_markdown", "write_fidelity"]


def _cell(normalised: Normalised) -> str:
    if normalised.error:
        return f"({normalised.error})"
    text = f"{normalised.status} {normalised.media_type}".strip()
    if normalised.events is not None:
        text += " [" + " ".join(normalised.events) + "]"
    return text


def _verdict_text(row: Row, label: str) -> str:
    result = row.verdicts[label]
    if result.label == "agree":
        return "agree"
    details = "; ".join(str(difference) for difference in result.differences)
    ids = f" ({', '.join(result.deviations)})" if result.deviations else ""
    return f"{result.label}{ids}: {details}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _summary(fidelity: Fidelity) -> list[str]:
    lines = []
    for column in fidelity.columns[1:]:
        counts = fidelity.counts(column.label)
        goal = "every exchange agrees" if column.quirks else "only documented deviations differ"
        met = "met" if counts["differ"] == 0 else "NOT met"
        lines.append(
            f"{column.label}: {counts['agree']} agree, {counts['documented']} documented, "
            f"{counts['differ']} differ (goal: {goal}: {met})"
        )
    return lines


def render_markdown(fidelity: Fidelity, *, title: str = "Fidelity: mock vs real Flowise") -> str:
    others = [column.label for column in fidelity.columns[1:]]
    lines = [f"# {title}", "", f"Reference: **{fidelity.reference}**. Compared on status, media type, JSON key set "
             "and value types, and SSE event names (runs collapsed as `name+`); ids, dates and text are not compared.", ""]
    lines += [f"- {line}" for line in _summary(fidelity)]
    lines += ["", "| # | exchange | request | " + " | ".join([fidelity.reference, *others]) + " | "
              + " | ".join(f"{label} verdict" for label in others) + " |"]
    lines.append("|" + "---|" * (3 + 1 + 2 * len(others)))
    for index, row in enumerate(fidelity.rows, 1):
        cells = [str(index), row.step.name, f"`{row.step.method} {row.reference.path}`"]
        cells += [_cell(row.normalised[column.label]) for column in fidelity.columns]
        cells += [_verdict_text(row, label) for label in others]
        lines.append("| " + " | ".join(_md(cell) for cell in cells) + " |")
    lines += ["", "## Known deviations on the reference server", "", "| deviation | confirmed by | not shown by |", "|---|---|---|"]
    for deviation, status in sorted(fidelity.deviation_status().items()):
        lines.append(
            f"| `{deviation}` | {_md(', '.join(status['confirmed']) or '-')} | {_md(', '.join(status['refuted']) or '-')} |"
        )
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;font-size:14px}
table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2;position:sticky;top:0}
.agree{background:#e8f6e8}.documented{background:#fff6d6}.differ{background:#fbe0e0}
code,pre{font-size:12px}pre{white-space:pre-wrap;margin:0;max-height:12em;overflow:auto}
details summary{cursor:pointer}
"""


def render_html(fidelity: Fidelity, *, title: str = "Fidelity: mock vs real Flowise") -> str:
    esc = html.escape
    others = [column.label for column in fidelity.columns[1:]]
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>{_CSS}</style></head><body>"]
    out.append(f"<h1>{esc(title)}</h1><p>Reference: <b>{esc(fidelity.reference)}</b>. Compared on status, media type, "
               "JSON key set and value types, and SSE event names (runs collapsed as <code>name+</code>).</p><ul>")
    out += [f"<li>{esc(line)}</li>" for line in _summary(fidelity)]
    out.append("</ul><table><tr><th>#</th><th>exchange</th><th>request</th>")
    out += [f"<th>{esc(column.label)}</th>" for column in fidelity.columns]
    out += [f"<th>{esc(label)} verdict</th>" for label in others]
    out.append("</tr>")
    for index, row in enumerate(fidelity.rows, 1):
        out.append(f"<tr><td>{index}</td><td>{esc(row.step.name)}</td><td><code>{esc(row.step.method)} "
                   f"{esc(row.reference.path)}</code></td>")
        for column in fidelity.columns:
            normalised = row.normalised[column.label]
            out.append(f"<td>{esc(_cell(normalised))}<details><summary>body</summary>"
                       f"<pre>{esc(normalised.preview)}</pre></details></td>")
        for label in others:
            result = row.verdicts[label]
            out.append(f"<td class='{result.label}'>{esc(_verdict_text(row, label))}</td>")
        out.append("</tr>")
    out.append("</table><h2>Known deviations on the reference server</h2><table><tr><th>deviation</th>"
               "<th>confirmed by</th><th>not shown by</th></tr>")
    for deviation, status in sorted(fidelity.deviation_status().items()):
        out.append(f"<tr><td><code>{esc(deviation)}</code></td><td>{esc(', '.join(status['confirmed']) or '-')}</td>"
                   f"<td>{esc(', '.join(status['refuted']) or '-')}</td></tr>")
    out.append("</table></body></html>")
    return "\n".join(out)


def write_fidelity(fidelity: Fidelity, directory: Path) -> dict[str, Path]:
    """fidelity.md, fidelity.html and fidelity.json (every raw result) under `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": directory / "fidelity.md",
        "html": directory / "fidelity.html",
        "json": directory / "fidelity.json",
    }
    paths["markdown"].write_text(render_markdown(fidelity))
    paths["html"].write_text(render_html(fidelity))
    raw = {
        "reference": fidelity.reference,
        "columns": [{"label": column.label, "quirks": column.quirks} for column in fidelity.columns],
        "summary": _summary(fidelity),
        "deviations": fidelity.deviation_status(),
        "rows": [
            {
                "step": row.step.name,
                "deviations": list(row.step.deviations),
                "confirmed": list(row.confirmed),
                "results": {label: result.to_dict() for label, result in row.results.items()},
                "verdicts": {
                    label: {"label": result.label, "differences": [str(d) for d in result.differences]}
                    for label, result in row.verdicts.items()
                },
            }
            for row in fidelity.rows
        ],
    }
    paths["json"].write_text(json.dumps(raw, indent=2) + "\n")
    return paths
