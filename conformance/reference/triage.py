"""Triage of the suite's failures against the real Flowise: every failure gets a verdict and a fix.

The suite promises no false failures on a real Flowise. So each failure it reports against the
reference server is one of: a bug of the suite, an error of the spec, or a real deviation of
Flowise (which belongs in `conformance/deviations.toml` with its upstream reference). The verdicts
reached by reading a failure once are kept as data, so a re-run only leaves new failures
"untriaged": `triage.toml` holds the spec errors and suite bugs, and a failure whose exchange fits
an entry of `proposed_deviations.toml` is a real deviation the catalogue still lacks.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Any

from conformance.exchange import Exchange
from contract.deviations import Deviations

__all__ = ["Rule", "Triaged", "is_echo", "load_rules", "render_triage", "triage", "write_triage"]

VERDICTS = ("suite bug", "spec error", "real deviation", "harness", "untriaged")


@dataclass(frozen=True)
class Rule:
    """One known failure: globs on operation and check, regexes on message and status, and the verdict."""

    verdict: str
    fix: str
    operation: str = "*"
    check: str = "*"
    message: str | None = None
    status: str | None = None
    body: str | None = None
    #: Fits only when the value a response check complains about is one the request itself sent.
    echo: bool = False

    def fits(self, outcome: dict[str, Any]) -> bool:
        if not fnmatchcase(str(outcome.get("operation", "")), self.operation):
            return False
        if not fnmatchcase(str(outcome.get("check", "")), self.check):
            return False
        exchange = outcome.get("exchange") or {}
        if self.message and not re.search(self.message, str(outcome.get("message", "")), re.DOTALL):
            return False
        if self.body and not re.search(self.body, str(exchange.get("response_body") or ""), re.DOTALL):
            return False
        if self.echo and not is_echo(
            str(outcome.get("message", "")), str(exchange.get("request_body") or ""), str(exchange.get("response_body") or "")
        ):
            return False
        return not (self.status and not re.fullmatch(self.status, str(exchange.get("status"))))


def is_echo(message: str, request_body: str, response_body: str = "") -> bool:
    """Whether the value a response schema check complains about is one the request itself sent.

    Read from the schema path (`Schema at .../properties/<name>`: the response's `<name>` equals the
    request's) or else from the message's `Value:` (found anywhere in the request body).
    """
    try:
        sent = json.loads(request_body)
    except ValueError:
        sent = None
    field = re.search(r"Schema at \S*/properties/([^/:\s]+):", message)
    if field and isinstance(sent, dict):
        try:
            answered = json.loads(response_body)
        except ValueError:
            answered = None
        name = field.group(1)
        if isinstance(answered, dict) and name in answered and name in sent:
            return _same(answered[name], sent[name])
    _, found, rest = message.rpartition("Value:")
    if not found:
        return False
    rest = re.sub(r"\s*\(\d+ distinct failures\)\s*$", "", rest)
    try:
        value = json.loads(rest.strip())
    except ValueError:
        return False
    if sent is None:
        return json.dumps(value) in request_body or json.dumps(value, ensure_ascii=False) in request_body
    return any(_same(item, value) for item in _walk(sent))


def _same(left: Any, right: Any) -> bool:
    """JSON equality: `true` is not `1` (Python's == would say it is); key order plays no part."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return bool(left == right)


def _walk(data: Any) -> Any:
    """Every value inside decoded JSON, the whole document included (key order plays no part in ==)."""
    yield data
    children = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    for child in children:
        yield from _walk(child)


@dataclass(frozen=True)
class Triaged:
    outcome: dict[str, Any]
    verdict: str
    fix: str


def load_rules(text: str | None = None) -> list[Rule]:
    """The rules of `triage.toml` (or of `text`)."""
    if text is None:
        text = resources.files("conformance.reference").joinpath("triage.toml").read_text("utf-8")
    rules = []
    for entry in tomllib.loads(text).get("failure", []):
        if entry.get("verdict") not in VERDICTS:
            raise ValueError(f"triage.toml: unknown verdict {entry.get('verdict')!r}")
        rules.append(Rule(**entry))
    return rules


def _exchange(outcome: dict[str, Any]) -> Exchange | None:
    data = outcome.get("exchange")
    if not isinstance(data, dict):
        return None
    return Exchange(
        method=str(data.get("method", "")),
        url=str(data.get("url", "")),
        request_headers=dict(data.get("request_headers") or {}),
        request_body=data.get("request_body"),
        status=data.get("status"),
        response_headers=dict(data.get("response_headers") or {}),
        response_body=data.get("response_body"),
        error=data.get("error"),
    )


def triage(results: dict[str, Any], rules: list[Rule], proposed: Deviations | None = None) -> list[Triaged]:
    """A verdict for every failed outcome of a `results.json` document: a rule's, else a proposed deviation's."""
    triaged = []
    for outcome in results.get("outcomes", []):
        if outcome.get("status") != "fail":
            continue
        rule = next((rule for rule in rules if rule.fits(outcome)), None)
        if rule is not None:
            triaged.append(Triaged(outcome, rule.verdict, rule.fix))
            continue
        found = proposed.classify(
            check=str(outcome.get("check", "")), operation=str(outcome.get("operation", "")), exchange=_exchange(outcome)
        ) if proposed is not None else None
        if found is not None:
            fix = f"add `{found.id}` to conformance/deviations.toml (entry in conformance/reference/proposed_deviations.toml)"
            triaged.append(Triaged(outcome, "real deviation", fix))
        else:
            triaged.append(Triaged(outcome, "untriaged", "read the exchange and decide"))
    return triaged


def _md(text: object, limit: int = 400) -> str:
    return " ".join(str(text).replace("|", "\\|").split())[:limit]


def render_triage(results: dict[str, Any] | None, triaged: list[Triaged], *, source: Path | None = None) -> str:
    lines = ["# Triage of the conformance suite against the real Flowise", ""]
    if results is None:
        lines.append(f"No suite results ({source} missing): the suite did not run to its report.")
        return "\n".join(lines) + "\n"
    counts = results.get("counts", {})
    lines.append(f"Target {results.get('target')}, run {results.get('run_id')}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    verdicts: dict[str, int] = {}
    for item in triaged:
        verdicts[item.verdict] = verdicts.get(item.verdict, 0) + 1
    lines.append("Verdicts: " + (", ".join(f"{name} {count}" for name, count in sorted(verdicts.items())) or "no failures"))
    seed = re.search(r"\bseed (\d+)", str((results.get("notes") or {}).get("schemathesis", "")))
    if seed:
        lines.append(f"Replay the schema layer's requests: `--suite-args '--seed {seed[1]}'`")
    lines += ["", "## Failures", "",
              "An outcome that groups several distinct failures is judged on the exchange it carries; the "
              "others are in `conformance/schemathesis-events.ndjson`.", ""]
    if not triaged:
        lines.append("None.")
    else:
        lines += ["| # | operation | check | failure | verdict | proposed fix |", "|---|---|---|---|---|---|"]
        for index, item in enumerate(triaged, 1):
            outcome = item.outcome
            exchange = outcome.get("exchange") or {}
            evidence = f"{outcome.get('message', '')} (HTTP {exchange.get('status')})" if exchange else outcome.get("message", "")
            lines.append(f"| {index} | {_md(outcome.get('operation'))} | {_md(outcome.get('check'))} | {_md(evidence, 220)} | "
                         f"{item.verdict} | {_md(item.fix)} |")
    deviations: dict[str, int] = {}
    for outcome in results.get("outcomes", []):
        if outcome.get("status") == "deviation" and outcome.get("deviation"):
            key = outcome["deviation"]["id"]
            deviations[key] = deviations.get(key, 0) + 1
    lines += ["", "## Known deviations the suite recognised", ""]
    lines += [f"- `{key}`: {count} result(s)" for key, count in sorted(deviations.items())] or ["None."]
    notes = results.get("notes") or {}
    if notes.get("cleanup_failures"):
        lines += ["", "## Cleanup", "", f"{notes.get('cleanup')}: {notes['cleanup_failures']}"]
    untriaged = [item for item in triaged if item.verdict == "untriaged"]
    if untriaged:
        lines += ["", "## Untriaged failures: the exchanges", ""]
        for item in untriaged:
            exchange = item.outcome.get("exchange") or {}
            lines += [f"### {item.outcome.get('operation')} / {item.outcome.get('check')}", "",
                      "```", str(exchange.get("curl", "")), f"-> HTTP {exchange.get('status')} "
                      f"{str(exchange.get('response_body', ''))[:600]}", "```", ""]
    return "\n".join(lines) + "\n"


def write_triage(
    results_path: Path, target: Path, rules: list[Rule] | None = None, proposed: Deviations | None = None
) -> list[Triaged]:
    """Read the suite's `results.json`, triage its failures, write `triage.md`; returns the triage."""
    try:
        results = json.loads(results_path.read_text())
    except (OSError, ValueError):
        target.write_text(render_triage(None, [], source=results_path))
        return []
    if proposed is None:
        from conformance.reference.fidelity import proposed_deviations

        proposed = proposed_deviations()
    triaged = triage(results, load_rules() if rules is None else rules, proposed)
    target.write_text(render_triage(results, triaged))
    return triaged
