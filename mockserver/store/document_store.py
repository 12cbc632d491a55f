"""Document stores in SQLite: the store row, its loader entries, and its chunk rows.

Flowise keeps a store's loader entries as one JSON string column (``loaders``) and their chunks as rows of
``document_store_file_chunk``; the vectors live in the fake vector store under the store id. Two shapes
leave the server (docs/resources.md#document-stores): ``POST /document-store/store`` answers the raw
entity (JSON columns still strings), every other read answers the DTO (JSON parsed, ``totalChars``/``totalChunks``
added, ``STALE`` when a loader is not ``SYNC``). Chunk pages hold 50 chunks, as in Flowise.
"""

from __future__ import annotations

import json
from typing import Any

from mockserver.store import vectors
from mockserver.store.db import Database, new_id, now_iso, page_window, to_json_text

__all__ = [
    "PAGE_SIZE",
    "chunk_page",
    "chunks_of",
    "create_store",
    "delete_chunk",
    "delete_chunks",
    "delete_store",
    "find_chunk",
    "get_store",
    "list_stores",
    "loader_source",
    "loaders_of",
    "mark_upserted",
    "prune_vectors",
    "record_upsert",
    "replace_chunks",
    "save_loaders",
    "set_configs",
    "to_dto",
    "update_chunk",
    "update_store",
]

PAGE_SIZE = 50
#: Body fields a create or update may set (Flowise assigns the whole body; ids and dates are the server's).
_WRITABLE = ("name", "description", "loaders", "whereUsed", "vectorStoreConfig", "embeddingConfig",
             "recordManagerConfig")
_JSON_COLUMNS = ("vectorStoreConfig", "embeddingConfig", "recordManagerConfig")
#: File loaders whose source is the name of their file input (Flowise's ``addLoaderSource``).
_FILE_LOADERS = ("pdfFile", "docxFile", "jsonFile", "csvFile", "file", "jsonlinesFile", "txtFile")


def get_store(db: Database, store_id: str, workspace_id: str) -> dict[str, Any] | None:
    return db.one('SELECT * FROM "document_store" WHERE id = ? AND workspaceId = ?', (store_id, workspace_id))


def create_store(db: Database, *, workspace_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Insert a new store (status ``EMPTY``) and return the raw entity in Flowise's key order."""
    stamp = now_iso()
    row: dict[str, Any] = {"name": body["name"], "description": body.get("description")}
    row["loaders"] = to_json_text(body.get("loaders")) or "[]"
    row["whereUsed"] = to_json_text(body.get("whereUsed")) or "[]"
    row["status"] = "EMPTY"
    for column in _JSON_COLUMNS:
        row[column] = to_json_text(body.get(column))
    row.update({"workspaceId": workspace_id, "id": new_id(), "createdDate": stamp, "updatedDate": stamp})
    db.insert("document_store", row)
    return row


def list_stores(db: Database, workspace_id: str, *, page: int | None = None,
                limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Stores of the workspace, last updated first; a page of them when both ``page`` and ``limit`` are given."""
    sql = 'SELECT * FROM "document_store" WHERE workspaceId = ? ORDER BY updatedDate DESC, rowid DESC'
    params: list[Any] = [workspace_id]
    total = int(db.scalar('SELECT COUNT(*) FROM "document_store" WHERE workspaceId = ?', (workspace_id,)) or 0)
    if page and limit:
        sql += " LIMIT ? OFFSET ?"
        params += list(page_window(page, limit))
    return db.query(sql, params), total


def update_store(db: Database, store: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Merge the writable fields of ``body`` into the store (TypeORM ``merge`` + ``save``)."""
    changes = {k: (v if k in ("name", "description") else to_json_text(v)) for k, v in body.items() if k in _WRITABLE}
    changes["updatedDate"] = now_iso()
    db.update("document_store", store["id"], changes)
    return {**store, **changes}


def delete_store(db: Database, store_id: str) -> int:
    """Delete the store with its chunks, vectors and upsert history, in one commit; returns rows deleted."""
    with db.transaction():
        db.execute('DELETE FROM "document_store_file_chunk" WHERE storeId = ?', (store_id,))
        db.execute('DELETE FROM "upsert_history" WHERE chatflowid = ?', (store_id,))
        vectors.delete_namespace(db, store_id)
        return db.delete("document_store", store_id)


def loaders_of(store: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        loaders = json.loads(store.get("loaders") or "[]")
    except ValueError:
        return []
    return loaders if isinstance(loaders, list) else []


def save_loaders(db: Database, store: dict[str, Any], loaders: list[dict[str, Any]], *,
                 status: str | None = None) -> dict[str, Any]:
    """Write the loader entries back (and the store status, when given); returns the updated row."""
    changes: dict[str, Any] = {"loaders": json.dumps(loaders, separators=(",", ":"), ensure_ascii=False),
                               "updatedDate": now_iso()}
    if status is not None:
        changes["status"] = status
    db.update("document_store", store["id"], changes)
    return {**store, **changes}


def loader_source(loader: dict[str, Any]) -> str:
    """What the UI shows as a loader's source: file names, a URL, or ``None`` (Flowise's ``addLoaderSource``)."""
    config = loader.get("loaderConfig") or {}
    loader_id = loader.get("loaderId")
    if loader_id in _FILE_LOADERS:
        value = config.get(loader_id)
        return value.replace("FILE-STORAGE::", "") if isinstance(value, str) and value else "None"
    if loader_id == "apiLoader":
        return f"{config.get('url')} ({config.get('method')})"
    if loader_id in ("cheerioWebScraper", "playwrightWebScraper", "puppeteerWebScraper"):
        return config.get("url") or "None"
    return "None"


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def to_dto(store: dict[str, Any], *, where_used: list[Any] | None = None) -> dict[str, Any]:
    """The DTO every read answers: JSON columns parsed, totals summed, ``STALE`` if a loader is not synced."""
    dto = dict(store)
    loaders = loaders_of(store)
    for loader in loaders:
        loader["source"] = loader_source(loader)
    dto["loaders"] = loaders
    dto["whereUsed"] = where_used if where_used is not None else (_parse(store.get("whereUsed")) or [])
    for column in _JSON_COLUMNS:
        parsed = _parse(store.get(column))
        dto[column] = parsed if isinstance(parsed, dict) else None
    dto["totalChars"] = sum(int(loader.get("totalChars") or 0) for loader in loaders)
    dto["totalChunks"] = sum(int(loader.get("totalChunks") or 0) for loader in loaders)
    if any(loader.get("status") != "SYNC" for loader in loaders):
        dto["status"] = "STALE"
    return dto


def replace_chunks(db: Database, store_id: str, doc_id: str, documents: list[dict[str, Any]]) -> tuple[int, int]:
    """Replace a loader entry's chunk rows with ``documents``; returns (chunks, characters)."""
    chars = 0
    with db.transaction():
        db.execute('DELETE FROM "document_store_file_chunk" WHERE docId = ?', (doc_id,))
        for number, document in enumerate(documents, start=1):
            content = str(document["pageContent"]).replace("\x00", "")
            chars += len(content)
            db.insert("document_store_file_chunk", {
                "id": new_id(), "docId": doc_id, "storeId": store_id, "chunkNo": number,
                "pageContent": content,
                "metadata": json.dumps(document.get("metadata") or {}, separators=(",", ":"), ensure_ascii=False),
            })
    return len(documents), chars


def delete_chunks(db: Database, doc_id: str) -> int:
    """Delete every chunk of a loader entry; returns how many."""
    return db.execute('DELETE FROM "document_store_file_chunk" WHERE docId = ?', (doc_id,))


def update_chunk(db: Database, chunk_id: str, changes: dict[str, Any]) -> int:
    """Change a chunk's ``pageContent`` and/or ``metadata`` (JSON text)."""
    return db.update("document_store_file_chunk", chunk_id, changes)


def delete_chunk(db: Database, chunk_id: str) -> int:
    return db.delete("document_store_file_chunk", chunk_id)


def set_configs(db: Database, store_id: str, configs: dict[str, Any]) -> int:
    """Store the vector store, embedding and record manager configurations an upsert was given (JSON text)."""
    return db.update("document_store", store_id, configs)


def mark_upserted(db: Database, store_id: str) -> int:
    """The store's vectors are up to date (status ``UPSERTED``)."""
    return db.update("document_store", store_id, {"status": "UPSERTED", "updatedDate": now_iso()})


def chunks_of(db: Database, store_id: str, doc_id: str) -> list[dict[str, Any]]:
    return db.query('SELECT * FROM "document_store_file_chunk" WHERE storeId = ? AND docId = ? ORDER BY chunkNo',
                    (store_id, doc_id))


def find_chunk(db: Database, store_id: str, *, chunk_id: str | None = None,
               content: str | None = None) -> dict[str, Any] | None:
    """A chunk of the store by id, or the first one with exactly this text (how a vector hit finds its chunk)."""
    if chunk_id is not None:
        return db.one('SELECT * FROM "document_store_file_chunk" WHERE id = ? AND storeId = ?', (chunk_id, store_id))
    return db.one('SELECT * FROM "document_store_file_chunk" WHERE storeId = ? AND pageContent = ? '
                  "ORDER BY chunkNo LIMIT 1", (store_id, content))


def chunk_page(db: Database, store: dict[str, Any], file_id: str, page: int = 1) -> dict[str, Any] | None:
    """One page of a loader's chunks (``file_id`` a loader entry id, or ``all``); None if the loader is unknown.

    As in Flowise, ``file`` is the loader entry carrying the *store's* status, and ``characters`` sums the
    loader's (or, for ``all``, every loader's) ``totalChars``.
    """
    loaders = loaders_of(store)
    found = None
    if file_id != "all":
        found = next((loader for loader in loaders if loader.get("id") == file_id), None)
        if found is None:
            return None
        found["status"] = store["status"]
        characters = int(found.get("totalChars") or 0)
        where, params = "docId = ?", [file_id]
    else:
        characters = sum(int(loader.get("totalChars") or 0) for loader in loaders)
        where, params = "storeId = ?", [store["id"]]
    count = int(db.scalar(f'SELECT COUNT(*) FROM "document_store_file_chunk" WHERE {where}', params) or 0)
    chunks = db.query(f'SELECT id, docId, storeId, chunkNo, pageContent, metadata FROM "document_store_file_chunk" '
                      f"WHERE {where} ORDER BY chunkNo, rowid LIMIT ? OFFSET ?", [*params, *page_window(page, PAGE_SIZE)])
    result: dict[str, Any] = {"chunks": chunks, "count": count}
    if found is not None:
        result["file"] = found
    result.update({"currentPage": page, "storeName": store["name"], "description": store.get("description"),
                   "workspaceId": store["workspaceId"], "docId": file_id, "characters": characters})
    return result


def prune_vectors(db: Database, store_id: str, doc_id: str, documents: list[dict[str, Any]]) -> int:
    """Delete a loader entry's vectors whose text and metadata are no longer among ``documents``.

    This is what a record manager's incremental cleanup does when a loader is re-processed: chunks that
    survive are skipped by the vector store, chunks that vanished are deleted (``numDeleted``).
    """
    keep = [vectors.content_hash(str(d["pageContent"]), d.get("metadata") or {}) for d in documents]
    sql = 'DELETE FROM "vector" WHERE namespace = ? AND docId = ?'
    if keep:
        sql += f" AND contentHash NOT IN ({', '.join('?' for _ in keep)})"
    return db.execute(sql, [store_id, doc_id, *keep])


def record_upsert(db: Database, store_id: str, result: dict[str, Any], flow_data: Any) -> dict[str, Any]:
    """Add the ``upsert_history`` row Flowise writes after an upsert (``chatflowid`` is the store id)."""
    counts = {k: result[k] for k in ("numAdded", "numDeleted", "numUpdated", "numSkipped")}
    row = {"id": new_id(), "chatflowid": store_id, "result": json.dumps(counts, separators=(",", ":")),
           "flowData": json.dumps(flow_data, separators=(",", ":")), "date": now_iso()}
    db.insert("upsert_history", row)
    return row
