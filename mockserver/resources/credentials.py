"""Credentials: ``plainDataObj`` is stored encrypted and never sent back in the clear.

Flowise encrypts with AES under a key kept in its data folder; the mock uses ``cryptography``'s Fernet
with a key generated on first use and kept in ``mock_meta`` (so a file database still decrypts after a
restart, and ``/__mock/reset`` keeps it). Reading one credential shows its field names with every value
replaced by Flowise's redaction marker; sending the marker back in an update keeps the stored value, which
is how the UI edits one field without knowing the others.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet

from mockserver.operations import Call, operation
from mockserver.resources._shape import delete_answer, load_entity, new_id, update_entity
from mockserver.store import records
from mockserver.store.db import Database, now_iso

#: Flowise's REDACTED_CREDENTIAL_VALUE.
REDACTED = "_FLOWISE_BLANK_07167752-1a71-43b1-bf8f-4f32252165db"
_META_KEY = "credentialEncryptionKey"
_PUBLIC_FIELDS = ("id", "name", "credentialName", "workspaceId", "createdDate", "updatedDate")


def _cipher(db: Database) -> Fernet:
    key = db.meta(_META_KEY)
    if key is None:
        key = Fernet.generate_key().decode()
        db.set_meta(_META_KEY, key)
    return Fernet(key.encode())


def encrypt(db: Database, data: dict[str, Any]) -> str:
    return _cipher(db).encrypt(json.dumps(data).encode()).decode()


def decrypt(db: Database, token: str) -> dict[str, Any]:
    """The plain data of a credential row's ``encryptedData`` (for whatever needs the real values)."""
    data = json.loads(_cipher(db).decrypt(token.encode()))
    return data if isinstance(data, dict) else {}


def _public(row: dict[str, Any]) -> dict[str, Any]:
    """A credential without its ciphertext (list entries)."""
    return {key: row[key] for key in _PUBLIC_FIELDS}


def _load(call: Call, where: str) -> dict[str, Any]:
    return load_entity(call, "credential", "Credential {id} not found", where=where)


@operation("getAllCredentials")
async def get_all_credentials(call: Call) -> list[dict[str, Any]]:
    name = call.query.get("credentialName")
    rows, _ = records.list_in_workspace(call.db, "credential", call.workspace_id,
                                        equal={"credentialName": name} if name else None, order="created-asc")
    return [_public(row) for row in rows]


@operation("createCredential")
async def create_credential(call: Call) -> dict[str, Any]:
    """Answers Flowise's saved entity, keys in its order: the ciphertext, never ``plainDataObj``."""
    body = call.body or {}
    stamp = now_iso()
    row = {"name": body["name"], "credentialName": body["credentialName"],
           "encryptedData": encrypt(call.db, body.get("plainDataObj") or {}), "workspaceId": call.workspace_id,
           "id": new_id(), "createdDate": stamp, "updatedDate": stamp}
    records.insert(call.db, "credential", row)
    return row


@operation("getCredentialById")
async def get_credential_by_id(call: Call) -> dict[str, Any]:
    row = _load(call, "credentialsService.getCredentialById")
    plain = decrypt(call.db, row["encryptedData"])
    return {**_public(row), "plainDataObj": {key: REDACTED for key in plain}}


@operation("updateCredential")
async def update_credential(call: Call) -> dict[str, Any]:
    row = _load(call, "credentialsService.updateCredential")
    body = call.body or {}
    data = decrypt(call.db, row["encryptedData"])
    for key, value in (body.get("plainDataObj") or {}).items():
        if value != REDACTED:
            data[key] = value
    changes = {key: body[key] for key in ("name", "credentialName") if key in body}
    changes["encryptedData"] = encrypt(call.db, data)
    return update_entity(call, "credential", row, changes)


@operation("deleteCredentials")
async def delete_credentials(call: Call) -> dict[str, Any]:
    credential_id = call.path["id"]
    affected = records.delete(call.db, "credential", credential_id, workspace_id=call.workspace_id)
    return delete_answer(call, affected, f"Credential {credential_id} not found",
                         where="credentialsService.deleteCredentials")
