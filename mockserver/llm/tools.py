"""Deterministic tool calls: what a flow's tool nodes "did", in Flowise's ``usedTools`` shape.

A Flowise agent reports each tool call as ``{tool, toolInput, toolOutput}``. The mock calls every tool
node of the flow once with the question as input. The calculator really computes the first arithmetic
expression in the question (a safe AST walk: numbers, + - * / // % ** and parentheses only), so a test
can see a tool result flow into the answer; other tools return a fixed sentence naming their input.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

from mockserver.llm.flow import Node
from mockserver.store import records
from mockserver.store.db import Database

__all__ = ["calculate", "run_tools", "tool_name"]

_EXPRESSION = re.compile(r"[\d.(][\d\s.+\-*/%()]*[\d)]")
_OPERATORS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.USub: operator.neg, ast.UAdd: operator.pos,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        number: float = node.value
        return number
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ValueError("not arithmetic")


def calculate(text: str) -> str | None:
    """The value of the first arithmetic expression in ``text`` (as the calculator tool prints it), or ``None``."""
    for match in _EXPRESSION.finditer(text):
        candidate = match.group(0).strip()
        if not re.search(r"[+\-*/%]", candidate):
            continue
        try:
            value = _evaluate(ast.parse(candidate, mode="eval"))
        except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)
    return None


def tool_name(node: Node, db: Database | None = None) -> str:
    """The name an agent would report: a custom tool's stored name, else the node's ``name`` input or type."""
    selected = node.inputs.get("selectedTool")
    if db is not None and isinstance(selected, str) and selected:
        row = records.get(db, "tool", selected)
        if row is not None:
            return str(row["name"])
    named = node.inputs.get("name") or node.inputs.get("toolName")
    return str(named) if isinstance(named, str) and named else node.name


def run_tools(nodes: list[Node], question: str, db: Database | None = None) -> list[dict[str, Any]]:
    """One ``usedTools`` entry per tool node, in flow order."""
    used = []
    for node in nodes:
        name = tool_name(node, db)
        if node.name == "calculator" or name == "calculator":
            result = calculate(question)
            output = result if result is not None else "No arithmetic expression found"
        else:
            output = f"{name} looked up: {question.strip()}"
        used.append({"tool": name, "toolInput": {"input": question}, "toolOutput": output})
    return used
