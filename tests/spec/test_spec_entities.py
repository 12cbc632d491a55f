"""The spec accepts every record shape a real Flowise stores and returns.

The table below is Flowise 3.1.3's database schema for each family the spec describes, read from its
TypeORM entities (`packages/server/src/database/entities/*.ts`) and from the SQLite migrations that
actually create the tables (`packages/server/src/database/migrations/sqlite/*.ts` and the workspace
migrations): a column is nullable when either allows null, since a server holds whatever its
database lets it. Columns Flowise stores without parsing or checking are marked free-form: a record
another client wrote may hold any text there. For each family, a record with every nullable column
null, and one with free-form text in every free-form column, must satisfy the spec's response
schema, or the suite would fail a healthy server because of data the operator already has.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.profile import default_spec_path
from conformance.spec import load_spec

SPEC = load_spec(default_spec_path())

# Column kinds: id (uuid), text, json (JSON text Flowise parses or writes itself), freejson (JSON text
# stored as given), free (text stored as given where the spec names usual values), bool, int, date,
# array (simple-json string[]), parsed (a JSON column Flowise parses before answering).
N, R = True, False  # nullable, required (not null)
ENTITIES: dict[str, dict[str, tuple[str, bool]]] = {
    "Chatflow": {
        "id": ("id", R), "name": ("text", R), "flowData": ("json", R), "deployed": ("bool", N),
        "isPublic": ("bool", N), "apikeyid": ("text", N), "chatbotConfig": ("json", N), "apiConfig": ("freejson", N),
        "analytic": ("freejson", N), "speechToText": ("freejson", N), "textToSpeech": ("freejson", N),
        "followUpPrompts": ("freejson", N), "category": ("text", N), "type": ("chatflowtype", R),
        "createdDate": ("date", R), "updatedDate": ("date", R), "mcpServerConfig": ("freejson", N),
        "webhookSecretConfigured": ("bool", N), "workspaceId": ("text", N),
    },
    "Tool": {
        "id": ("id", R), "name": ("text", R), "description": ("text", R), "color": ("text", R),
        "iconSrc": ("text", N), "schema": ("freejson", N), "func": ("text", N), "createdDate": ("date", R),
        "updatedDate": ("date", R), "workspaceId": ("text", N),
    },
    "Variable": {
        "id": ("id", R), "name": ("text", R), "value": ("text", N), "type": ("free", N),
        "createdDate": ("date", R), "updatedDate": ("date", R), "workspaceId": ("text", N),
    },
    "Assistant": {
        "id": ("id", R), "details": ("json", R), "credential": ("id", R), "iconSrc": ("text", N),
        "type": ("free", N), "createdDate": ("date", R), "updatedDate": ("date", R), "workspaceId": ("text", N),
    },
    "Credential": {
        "id": ("id", R), "name": ("text", R), "credentialName": ("text", R), "encryptedData": ("text", R),
        "createdDate": ("date", R), "updatedDate": ("date", R), "workspaceId": ("text", N),
    },
    "ApiKey": {
        "id": ("id", R), "apiKey": ("text", R), "apiSecret": ("text", R), "keyName": ("text", R),
        "permissions": ("array", R), "updatedDate": ("date", R), "workspaceId": ("text", N),
    },
    "DocumentStoreEntity": {
        "id": ("id", R), "name": ("text", R), "description": ("text", N), "loaders": ("json", N),
        "whereUsed": ("json", N), "createdDate": ("date", R), "updatedDate": ("date", R), "status": ("storestatus", R),
        "vectorStoreConfig": ("json", N), "embeddingConfig": ("json", N), "recordManagerConfig": ("json", N),
        "workspaceId": ("text", N),
    },
    "DocumentStoreFileChunk": {
        "id": ("id", R), "docId": ("id", R), "storeId": ("id", R), "chunkNo": ("int", R),
        "pageContent": ("text", N), "metadata": ("json", N),
    },
    "ChatMessage": {
        "id": ("id", R), "role": ("role", R), "chatflowid": ("id", R), "executionId": ("text", N),
        "content": ("text", R), "sourceDocuments": ("parsed", N), "usedTools": ("parsed", N),
        "fileAnnotations": ("parsed", N), "agentReasoning": ("parsed", N), "reasonContent": ("parsed", N),
        "fileUploads": ("parsed", N), "artifacts": ("parsed", N), "action": ("parsed", N),
        "chatType": ("chattype", R), "chatId": ("text", R), "memoryType": ("text", N), "sessionId": ("text", N),
        "createdDate": ("date", R), "leadEmail": ("text", N), "followUpPrompts": ("json", N),
    },
    "ChatMessageFeedback": {
        "id": ("id", R), "chatflowid": ("id", R), "chatId": ("text", R), "messageId": ("id", R),
        "rating": ("free", N), "content": ("text", N), "createdDate": ("date", R),
    },
    "Lead": {
        "id": ("id", R), "name": ("text", N), "email": ("text", N), "phone": ("text", N),
        "chatflowid": ("text", R), "chatId": ("text", R), "createdDate": ("date", R),
    },
    "Execution": {
        "id": ("id", R), "executionData": ("json", R), "action": ("freejson", N), "state": ("free", R),
        "agentflowId": ("id", R), "sessionId": ("text", R), "isPublic": ("bool", N), "createdDate": ("date", R),
        "updatedDate": ("date", R), "stoppedDate": ("date", N), "workspaceId": ("text", N),
    },
}
#: What Flowise's DTO makes of a document store's JSON columns (`DocumentStoreDTO.fromEntity`): parsed,
#: `whereUsed` [] when empty, `loaders` left null.
DOCUMENT_STORE_READ = {
    "id": ("id", R), "name": ("text", R), "description": ("text", N), "loaders": ("parsed", N),
    "whereUsed": ("parsed", R), "createdDate": ("date", R), "updatedDate": ("date", R), "status": ("storestatus", R),
    "vectorStoreConfig": ("parsed", N), "embeddingConfig": ("parsed", N), "recordManagerConfig": ("parsed", N),
    "workspaceId": ("text", N),
}
ENTITIES["DocumentStore"] = DOCUMENT_STORE_READ

USUAL = {
    "id": "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f", "text": "x", "json": "{}", "freejson": "{}", "free": "x",
    "bool": True, "int": 1, "date": "2026-01-02T03:04:05.000Z", "array": ["chatflows:view"], "parsed": [],
    "chatflowtype": "AGENTFLOW", "storestatus": "SYNC", "role": "apiMessage", "chattype": "EXTERNAL",
}
#: What another client may have left in a free-form column.
FOREIGN = {"freejson": "not json at all", "free": "something-else"}
#: Parsed JSON columns that hold an object (the others hold arrays).
PARSED = {
    "DocumentStore": {"vectorStoreConfig": {}, "embeddingConfig": {}, "recordManagerConfig": {}},
    "ChatMessage": {"reasonContent": {}, "action": {}},
}


def record(entity: str, *, nulls: bool, foreign: bool) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for column, (kind, nullable) in ENTITIES[entity].items():
        if nulls and nullable:
            result[column] = None
        elif foreign and kind in FOREIGN:
            result[column] = FOREIGN[kind]
        else:
            result[column] = PARSED.get(entity, {}).get(column, USUAL[kind])
    return result


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_every_column_is_described(entity: str) -> None:
    properties = SPEC.resolve(f"#/components/schemas/{entity}").get("properties", {})
    missing = sorted(set(ENTITIES[entity]) - set(properties))
    assert not missing, f"{entity}: the spec does not describe Flowise's columns {missing}"


@pytest.mark.parametrize("shape", ["usual", "nulls", "foreign", "nulls-and-foreign"])
@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_what_flowise_stores_is_accepted(entity: str, shape: str) -> None:
    instance = record(entity, nulls="nulls" in shape, foreign="foreign" in shape)
    errors = SPEC.validator(f"#/components/schemas/{entity}", formats=True)(instance)
    assert not errors, f"{entity} ({shape}): {errors}"


def test_the_table_can_catch_a_spec_that_refuses_nulls() -> None:
    """A schema that does not accept null for a nullable column fails the check above."""
    import copy

    from conformance.spec import SpecIndex

    document = copy.deepcopy(SPEC.document)
    document["components"]["schemas"]["Variable"]["properties"]["type"] = {"type": "string"}
    strict = SpecIndex(document)
    errors = strict.validator("#/components/schemas/Variable", formats=True)(record("Variable", nulls=True, foreign=False))
    assert errors and "type" in errors[0]
