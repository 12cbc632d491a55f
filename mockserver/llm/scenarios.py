"""The fake LLM's choice for a Condition Agent: which of its scenarios the input is about.

Flowise's Condition Agent node asks its model to answer ``{"output": "<scenario>"}`` for a user message
``{"input": <text>, "scenarios": [...], "instruction": <text>}``. Both the mock's own Condition Agent
node and its OpenAI-compatible endpoint (when a real Flowise uses the mock as its model) pick the same
way, so the two agree: the scenario sharing the most words (of three letters or more, plurals folded)
with the input, the first of equals, and the last scenario (usually the catch-all) when none shares a word.
"""

from __future__ import annotations

import json
import re

__all__ = ["best_scenario", "scenario_answer", "scenario_request"]

_WORD = re.compile(r"[a-z0-9]{3,}")
_REQUEST = re.compile(r'^\{"input": (?P<input>.*), "scenarios": (?P<scenarios>\[.*?\]), "instruction": ', re.DOTALL)


def _words(text: str) -> set[str]:
    """The words of ``text``, lower-cased, a plural ``s`` dropped ("refunds" meets "refund")."""
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
            for w in _WORD.findall(text.lower())}


def best_scenario(text: str, scenarios: list[str]) -> int:
    """The index of the scenario ``text`` is about (see the module docstring); 0 for a single one."""
    if not scenarios:
        return 0
    said = _words(text)
    overlaps = [len(said & _words(scenario)) for scenario in scenarios]
    best = max(overlaps)
    return overlaps.index(best) if best else len(scenarios) - 1


def scenario_request(message: str) -> tuple[str, list[str]] | None:
    """``(input, scenarios)`` when ``message`` is a Condition Agent's question to its model, else None."""
    match = _REQUEST.match(message)
    if match is None:
        return None
    try:
        scenarios = json.loads(match.group("scenarios"))
    except ValueError:
        return None
    if not isinstance(scenarios, list) or not all(isinstance(s, str) for s in scenarios):
        return None
    return match.group("input"), scenarios


def scenario_answer(scenario: str) -> str:
    """The model's answer naming ``scenario``, fenced as the node's own examples show it."""
    return "```json\n" + json.dumps({"output": scenario}, ensure_ascii=False) + "\n```"
