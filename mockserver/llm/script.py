"""Scripted answers (``--script FILE``): rules that replace the fake LLM for matching questions.

A script is YAML or JSON: a list of rules, or ``{"rules": [...]}``. The first rule whose matcher fits the
question wins. Matchers (any one, case-insensitive): ``contains`` / ``match`` (substring), ``regex``
(Python ``re.search``), ``equals``; an optional ``chatflow`` restricts a rule to one chatflow id; a rule
with no matcher matches everything (a catch-all at the end). Outcomes:

```yaml
rules:
  - contains: refund
    answer: "Refunds take 5 days. You asked: {question}"
    sourceDocuments: [{pageContent: "Refund policy ...", metadata: {source: policy.pdf}}]
    usedTools: [{tool: crm, toolInput: {id: 1}, toolOutput: ok}]
    delay_ms: 200
  - regex: "^fail"
    error: {status: 503, message: "upstream unavailable"}
```

The file is re-read when it changes on disk, so a frontend developer can edit answers without restarting.
A broken file raises ``ScriptError`` naming the file and the rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Rule", "Script", "ScriptError", "load_script", "script_for"]


class ScriptError(ValueError):
    """The script file cannot be used: unreadable, unparsable, or a rule with a bad field."""


@dataclass(frozen=True)
class Rule:
    """One script rule (see the module docstring for the fields)."""

    index: int
    contains: str | None = None
    regex: re.Pattern[str] | None = None
    equals: str | None = None
    chatflow: str | None = None
    answer: str | None = None
    source_documents: list[dict[str, Any]] | None = None
    used_tools: list[dict[str, Any]] | None = None
    error_status: int | None = None
    error_message: str | None = None
    delay_ms: float = 0.0

    def matches(self, question: str, chatflow_id: str | None = None) -> bool:
        if self.chatflow and chatflow_id and self.chatflow != chatflow_id:
            return False
        if self.contains is not None and self.contains.lower() not in question.lower():
            return False
        if self.equals is not None and self.equals.strip().lower() != question.strip().lower():
            return False
        return not (self.regex is not None and not self.regex.search(question))

    def render(self, question: str) -> str | None:
        """The rule's answer with ``{question}`` substituted (other braces are left alone)."""
        return None if self.answer is None else self.answer.replace("{question}", question)


@dataclass
class Script:
    """The parsed rules of one file."""

    path: str
    rules: list[Rule] = field(default_factory=list)
    mtime: float = 0.0

    def find(self, question: str, chatflow_id: str | None = None) -> Rule | None:
        return next((rule for rule in self.rules if rule.matches(question, chatflow_id)), None)


def _documents(value: Any, where: str) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScriptError(f"{where}: must be a list of objects")
    return value


def _rule(index: int, raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: a rule must be a mapping, got {type(raw).__name__}")
    known = {"contains", "match", "regex", "equals", "chatflow", "answer", "sourceDocuments", "usedTools",
             "error", "delay_ms"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ScriptError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    pattern = None
    if raw.get("regex") is not None:
        try:
            pattern = re.compile(str(raw["regex"]), re.IGNORECASE)
        except re.error as exc:
            raise ScriptError(f"{where}: bad regex {raw['regex']!r}: {exc}") from exc
    status, message = None, None
    error = raw.get("error")
    if error is not None:
        if isinstance(error, int):
            status = error
        elif isinstance(error, dict) and isinstance(error.get("status", 500), int):
            status = int(error.get("status", 500))
            message = error.get("message")
        else:
            raise ScriptError(f"{where}: error must be a status code or {{status, message}}")
        if not 400 <= status <= 599:
            raise ScriptError(f"{where}: error status must be 400-599, got {status}")
    if raw.get("answer") is None and status is None and raw.get("sourceDocuments") is None \
            and raw.get("usedTools") is None:
        raise ScriptError(f"{where}: needs an answer, an error, sourceDocuments or usedTools")
    try:
        delay = float(raw.get("delay_ms") or 0)
    except (TypeError, ValueError) as exc:
        raise ScriptError(f"{where}: delay_ms must be a number") from exc
    contains = raw.get("contains", raw.get("match"))
    return Rule(
        index=index,
        contains=None if contains is None else str(contains),
        regex=pattern,
        equals=None if raw.get("equals") is None else str(raw["equals"]),
        chatflow=None if raw.get("chatflow") is None else str(raw["chatflow"]),
        answer=None if raw.get("answer") is None else str(raw["answer"]),
        source_documents=_documents(raw.get("sourceDocuments"), f"{where}.sourceDocuments"),
        used_tools=_documents(raw.get("usedTools"), f"{where}.usedTools"),
        error_status=status,
        error_message=None if message is None else str(message),
        delay_ms=max(0.0, delay),
    )


def load_script(path: str) -> Script:
    """Read and validate a script file (YAML or JSON, chosen by content, not extension)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        mtime = file.stat().st_mtime
    except OSError as exc:
        raise ScriptError(f"cannot read script file {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text) if text.lstrip().startswith(("{", "[")) else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ScriptError(f"script file {path} is not valid YAML or JSON: {exc}") from exc
    raw_rules = data.get("rules") if isinstance(data, dict) else data
    if data is None:
        raw_rules = []
    if not isinstance(raw_rules, list):
        raise ScriptError(f"script file {path}: expected a list of rules or {{rules: [...]}}")
    rules = [_rule(i, raw, f"{path}: rule {i + 1}") for i, raw in enumerate(raw_rules)]
    return Script(path=path, rules=rules, mtime=mtime)


def script_for(cached: Script | None, path: str | None) -> Script | None:
    """The loaded script for ``path``: ``cached`` (kept in ``MockState.script``) unless the file changed."""
    if not path:
        return None
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        mtime = -1.0
    if cached is None or cached.path != path or cached.mtime != mtime:
        cached = load_script(path)
    return cached
