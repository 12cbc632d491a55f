"""Each store table against the spec schema it serves, so that neither grows a field without the other.

A table's column names are the JSON field names Flowise answers (mockserver/store/schema.py), so a row is
already the shape the spec describes. Where a table and its schema differ on purpose, the difference is
written down below with its reason: a property the mock computes when it answers (no column), or a
column the mock keeps for itself (never sent under that schema). A new column, a new spec property, a new
table, or an allow-list entry that no longer applies fails a test here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any

import pytest

from mockserver.spec import Spec
from mockserver.store.schema import SCHEMA


@dataclass(frozen=True)
class Served:
    table: str
    schema: str
    #: spec properties with no column: the mock computes them when it answers
    computed: dict[str, str] = field(default_factory=dict)
    #: columns the mock keeps for itself: never a property of this schema
    internal: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.table}-{self.schema}"


SERVED = [
    Served("chat_flow", "Chatflow"),
    Served("chat_message", "ChatMessage",
           computed={
               "execution": "the agentflow run of executionId, joined in from the execution table on every read",
               "feedback": "the message's chat_message_feedback row, joined in on `feedback=true`",
           },
           internal={"seq": "write order: a question and its answer often share a createdDate millisecond"}),
    Served("chat_message_feedback", "ChatMessageFeedback"),
    Served("lead", "Lead"),
    Served("variable", "Variable"),
    Served("tool", "Tool"),
    Served("assistant", "Assistant"),
    Served("apikey", "ApiKey",
           computed={
               "apiKey": "keyPreview, or the plain key in the answer that created it (the plain key is never stored)",
               "chatFlows": "the chatflows whose apikeyid is this key, looked up on every list",
           },
           internal={
               "keyHash": "the digest the gate looks a presented key up by (the plain key is never stored)",
               "keyPreview": "the masked key a list shows as apiKey",
           }),
    Served("credential", "Credential"),
    Served("credential", "CredentialDetail",
           computed={"plainDataObj": "encryptedData decrypted, its secret fields redacted (GET /credentials/{id})"},
           internal={"encryptedData": "the ciphertext: the detail answers plainDataObj instead"}),
    # Every read but the save's answer: JSON columns parsed and the loaders' counts summed.
    Served("document_store", "DocumentStore",
           computed={
               "totalChars": "the sum of the loaders' totalChars",
               "totalChunks": "the sum of the loaders' totalChunks",
           }),
    # What create and update answer: the saved entity, JSON columns still strings.
    Served("document_store", "DocumentStoreEntity"),
    Served("document_store_file_chunk", "DocumentStoreFileChunk"),
    Served("upsert_history", "UpsertHistory"),
    Served("execution", "Execution"),
]

#: Tables that serve no schema of their own.
UNSERVED = {
    "mock_meta": "the mock's own key/value state (workspace id, credential key, seed file loaded); never served",
    "vector": "the fake embedding index: served only as a Document's pageContent and metadata in query results",
}


def _columns() -> dict[str, set[str]]:
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(SCHEMA)
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')} for table in tables}
    finally:
        db.close()


COLUMNS = _columns()


def _properties(spec: Spec, name: str) -> set[str]:
    """The property names of ``components/schemas/<name>``, through ``allOf`` and ``$ref``."""

    def collect(node: dict[str, Any]) -> set[str]:
        if "$ref" in node:
            node = spec.resolve(node["$ref"])
        names = set(node.get("properties", {}))
        for part in node.get("allOf", []):
            names |= collect(part)
        return names

    schemas = spec.document["components"]["schemas"]
    assert name in schemas, f"the spec has no schema {name}"
    return collect(schemas[name])


def test_every_table_is_accounted_for() -> None:
    served = {entry.table for entry in SERVED}
    assert not served & set(UNSERVED), "a table is both served and unserved"
    assert set(COLUMNS) == served | set(UNSERVED), (
        "map each new table to the spec schema it serves in SERVED, or say in UNSERVED why it serves none")


@pytest.mark.parametrize("entry", SERVED, ids=str)
def test_table_columns_are_the_schema_properties(spec: Spec, entry: Served) -> None:
    columns, properties = COLUMNS[entry.table], _properties(spec, entry.schema)
    assert properties - columns == set(entry.computed), (
        f"{entry.schema} properties with no {entry.table} column (add the column, or list the property as "
        f"computed): {sorted(properties - columns - set(entry.computed))}; "
        f"stale computed entries: {sorted(set(entry.computed) - (properties - columns))}")
    assert columns - properties == set(entry.internal), (
        f"{entry.table} columns {entry.schema} does not name (add them to the spec, or list them as internal): "
        f"{sorted(columns - properties - set(entry.internal))}; "
        f"stale internal entries: {sorted(set(entry.internal) - (columns - properties))}")

