"""The mock's layers only call down, and the store is the only one that speaks SQL (CONTRIBUTING.md#layout).

Outside ``mockserver/store/`` no module may hold SQL text (a string literal or f-string part that reads
as a statement or a clause of one), import ``sqlite3``, or call the ``Database`` methods that take SQL
text or a table name (``execute``, ``query``, ``one``, ``scalar``, ``get``, ``insert``, ``update``,
``delete``...): handlers and the engine call ``mockserver.store`` functions with plain values. A
transaction (``db.transaction()``), the meta values and the connection's lifetime stay open to them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import mockserver

PACKAGE = Path(mockserver.__file__).resolve().parent
STORE = PACKAGE / "store"

#: What reads as SQL: a statement's opening, or a clause only a query has (a ``?`` placeholder, ORDER BY...).
SQL = re.compile(
    r"\bSELECT\b.*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\b.+\bSET\b|\bDELETE\s+FROM\b|\bCREATE\s+(TABLE|INDEX)\b"
    r"|\b(DROP|ALTER)\s+TABLE\b|\bPRAGMA\b|\bORDER\s+BY\b|\bGROUP\s+BY\b|\bLEFT\s+JOIN\b|\bLIMIT\s+\?"
    r"|[\w\"}]\s*(=|<=|>=|<|>|LIKE|IN)\s*\(?\?|\bIS\s+(NOT\s+)?NULL\b|\bCOUNT\(\*\)|\w\s+(ASC|DESC)\s*(,|$)",
    re.DOTALL,
)
#: ``Database`` methods that take SQL text or a table name: the store's own.
SQL_METHODS = frozenset({"execute", "executemany", "executescript", "query", "one", "scalar", "get", "insert",
                         "update", "delete", "check_columns", "columns", "wipe"})


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string nodes that are a bare expression (docstrings, comments-as-strings): not code."""
    return {id(node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}


def _is_db(node: ast.expr) -> bool:
    """``db``, ``call.db``, ``self.state.db``...: what a ``Database`` goes by."""
    return (isinstance(node, ast.Name) and node.id == "db") or (isinstance(node, ast.Attribute) and node.attr == "db")


def sql_outside_store(source: str) -> list[str]:
    """What in ``source`` (a module outside ``store/``) speaks SQL: one line per finding, ``line: what``."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if SQL.search(node.value):
                found.append(f"{node.lineno}: SQL text {node.value[:60]!r}")
        elif isinstance(node, ast.JoinedStr):
            text = "{}".join(part.value for part in node.values
                             if isinstance(part, ast.Constant) and isinstance(part.value, str))
            if SQL.search(text):
                found.append(f"{node.lineno}: SQL in an f-string {text[:60]!r}")
        elif isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "sqlite3" for alias in node.names):
            found.append(f"{node.lineno}: import sqlite3")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlite3":
            found.append(f"{node.lineno}: from sqlite3 import")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in SQL_METHODS and _is_db(node.func.value):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}(...) on the database")
    return found


def _modules_outside_store() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if STORE not in path.parents)


@pytest.mark.parametrize("path", _modules_outside_store(), ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_only_the_store_speaks_sql(path: Path) -> None:
    findings = sql_outside_store(path.read_text(encoding="utf-8"))
    assert not findings, f"{path.relative_to(PACKAGE.parent)} holds SQL (move it into mockserver/store/):\n" + \
        "\n".join(findings)


def test_the_scan_covers_the_mock() -> None:
    scanned = {path.relative_to(PACKAGE).as_posix() for path in _modules_outside_store()}
    assert {"app.py", "auth.py", "control.py", "resources/chatflows.py", "llm/memory.py"} <= scanned
    assert not any(name.startswith("store/") for name in scanned)


@pytest.mark.parametrize(
    "source",
    [
        'rows = call.db.query("SELECT * FROM apikey WHERE workspaceId = ?", (ws,))',
        "call.db.execute(f'DELETE FROM \"{table}\" WHERE \"{column}\" = ?', (chatflow_id,))",
        'x = "UPDATE chat_message_feedback SET rating = ?, content = ? WHERE id = ?"',
        'condition = "apikeyid = ?"',
        'condition += " OR apikeyid IS NULL OR apikeyid = \'\'"',
        'listing(call, "assistant", dict, order="createdDate ASC, rowid ASC")',
        'sql = f"{sql} ORDER BY createdDate {direction}, rowid {direction}"',
        'clause = f"m.{column} = ?"',
        "import sqlite3",
        "from sqlite3 import Row",
        'row = call.db.get("chat_flow", chatflow_id)',
        'state.db.insert(table, row)',
        'self.db.one(text, (key,))',
        'db.wipe()',
    ],
)
def test_the_scan_finds_sql(source: str) -> None:
    assert sql_outside_store(source)


@pytest.mark.parametrize(
    "source",
    [
        '"""Deleting a chatflow also deletes what hangs off it (SELECT ... FROM is only an example)."""',
        'with call.db.transaction():\n    pass',
        'key = db.meta("workspaceId")',
        'records.get(call.db, "chat_flow", chatflow_id)',
        'raise FlowiseError(404, f"Chatflow {text} not found in the database!")',
        'message = "Select the chatflow to delete from the list"',
        'body.get("rating")',
        'params.update(data)',
    ],
)
def test_the_scan_leaves_plain_code_alone(source: str) -> None:
    assert not sql_outside_store(source)
