"""Document store handlers: stores, loader entries, chunks, upserts into the fake vector store, retrieval.

Flowise runs a loader component then a splitter component; the mock reads the inputs a loader can carry
as text (``plainText``'s ``text``, data-URI files, files stored earlier under ``FILE-STORAGE::``) and
splits them with the recursive character splitter (mockserver.llm.chunking). Flowise needs embedding and
vector store configs before an upsert or a query; the mock always has its fake embedding and vector store,
so it does not (configs sent are still saved on the store). The vectors of a store live under the store id.
Unknown ids answer 404 (under ``--quirks``, the 500 of the operations whose spec notes ``missing-id-500``).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from mockserver import quirks
from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.resources import _document_loading as loading
from mockserver.resources._shape import missing
from mockserver.store import document_store as stores
from mockserver.store import records, vectors
from mockserver.store.db import json_value, new_id

__all__: list[str] = []

_SERVICE = "documentStoreServices"


def _store(call: Call, store_id: str, *, where: str) -> dict[str, Any]:
    """The store, or the not-found error (``_shape.missing``: 404, or the spec's 500 under quirks)."""
    store = stores.get_store(call.db, store_id, call.workspace_id)
    if store is not None:
        return store
    message = f"Document store {store_id} not found"
    if where == "getDocumentStoreById":  # the service's own message, as the spec's NotFound example shows
        message = f"Error: {_SERVICE}.{where} - {message}"
    raise missing(call, message, where=f"{_SERVICE}.{where}")


def _files_dir(call: Call, store_id: str) -> Path:
    return Path(call.state.data_dir) / "docustore" / store_id


def _where_used(call: Call, store: dict[str, Any]) -> list[dict[str, str]]:
    """``whereUsed`` resolved to ``{id, name}`` of the chatflows that still exist (a single-store read)."""
    ids = json_value(store.get("whereUsed"), [])
    ids = ids if isinstance(ids, list) else []
    found = []
    for chatflow_id in ids if isinstance(ids, list) else []:
        row = records.get(call.db, "chat_flow", str(chatflow_id))
        if row is not None:
            found.append({"id": row["id"], "name": row["name"]})
    return found


# -- stores -------------------------------------------------------------------------------------------------
@operation("createDocumentStore")
async def create_document_store(call: Call) -> dict[str, Any]:
    return stores.create_store(call.db, workspace_id=call.workspace_id, body=call.body)


@operation("getAllDocumentStores")
async def get_all_document_stores(call: Call) -> list[dict[str, Any]] | dict[str, Any]:
    page, limit = call.query.get("page"), call.query.get("limit")
    rows, total = stores.list_stores(call.db, call.workspace_id, page=page, limit=limit)
    data = [stores.to_dto(row) for row in rows]
    return {"data": data, "total": total} if page and limit else data


@operation("getDocumentStoreById")
async def get_document_store_by_id(call: Call) -> dict[str, Any]:
    store = _store(call, call.path["id"], where="getDocumentStoreById")
    return stores.to_dto(store, where_used=_where_used(call, store))


@operation("updateDocumentStore")
async def update_document_store(call: Call) -> dict[str, Any]:
    store = _store(call, call.path["id"], where="getDocumentStoreById")
    return stores.to_dto(stores.update_store(call.db, store, call.body or {}))


@operation("deleteDocumentStore")
async def delete_document_store(call: Call) -> dict[str, int]:
    store = _store(call, call.path["id"], where="deleteDocumentStore")
    deleted = stores.delete_store(call.db, store["id"])
    shutil.rmtree(_files_dir(call, store["id"]), ignore_errors=True)
    return {"deleted": deleted}


# -- loaders ------------------------------------------------------------------------------------------------
@operation("previewFileChunks")
async def preview_file_chunks(call: Call) -> dict[str, Any]:
    body = dict(call.body)
    store = None
    if body.get("storeId") and loading.uses_stored_files(body.get("loaderConfig") or {}):
        store = stores.get_store(call.db, body["storeId"], call.workspace_id)
        if store is None:
            raise FlowiseError(400, f"Document store {body['storeId']} not found: its stored files cannot be read")
    entry = next((e for e in stores.loaders_of(store) if e.get("id") == body.get("id")), {}) if store else {}
    files_dir = _files_dir(call, store["id"]) if store else None
    chunks, _ = loading.load_and_split(body, files_dir=files_dir, stored_files=entry.get("files") or [],
                                    zero_overlap_ignored=quirks.active(call, "chunk-overlap-zero-ignored"))
    wanted = body.get("previewChunkCount")
    count = len(chunks) if wanted is None or wanted == -1 else min(int(wanted), len(chunks))
    return {"chunks": chunks[:count], "totalChunks": len(chunks), "previewChunkCount": count}


def _process(call: Call, store: dict[str, Any], entry_id: str,
             data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Save loader entry ``entry_id`` (``data`` over the existing entry), split it and store its chunks.

    New data-URI files are written to the store's folder and replaced by ``FILE-STORAGE::[names]`` in the
    loader config, as Flowise does, so a later refresh can read them again. Returns (store, entry).
    """
    loaders = stores.loaders_of(store)
    index = next((i for i, e in enumerate(loaders) if e.get("id") == entry_id), None)
    entry: dict[str, Any] = dict(loaders[index]) if index is not None else {"id": entry_id}
    for key in ("loaderId", "loaderName", "loaderConfig", "splitterId", "splitterName", "splitterConfig",
                "credential", "files"):
        if data.get(key) not in (None, ""):
            entry[key] = data[key]
    if not entry.get("loaderId"):
        raise FlowiseError(400, "Loader not configured: give loaderId and loaderConfig (or files)")
    files_dir = _files_dir(call, store["id"])
    chunks, config = loading.load_and_split(entry, files_dir=files_dir, stored_files=entry.get("files") or [],
                                    zero_overlap_ignored=quirks.active(call, "chunk-overlap-zero-ignored"))
    new_files = loading.store_files(config, files_dir)
    if new_files:
        entry["files"] = new_files
    entry["loaderConfig"] = config
    with call.db.transaction():
        count, chars = stores.replace_chunks(call.db, store["id"], entry_id, chunks)
        entry.update({"totalChunks": count, "totalChars": chars, "status": "SYNC"})
        if index is None:
            loaders.append(entry)
        else:
            loaders[index] = entry
        status = "SYNC" if all(e.get("status") == "SYNC" for e in loaders) else "STALE"
        store = stores.save_loaders(call.db, store, loaders, status=status)
    return store, entry


@operation("processLoader")
async def process_loader(call: Call) -> dict[str, Any]:
    body = dict(call.body)
    store = _store(call, body["storeId"], where="processAndSaveChunks")
    entry_id = call.path["loaderId"]
    known = {e.get("id"): e for e in stores.loaders_of(store)}
    if entry_id not in known and body.get("id") in known:  # a copy of another entry under the path's id
        body = {**{k: v for k, v in known[body["id"]].items() if k != "id"}, **body}
    store, _ = _process(call, store, entry_id, body)
    return stores.chunk_page(call.db, store, entry_id, 1) or {}


@operation("deleteLoaderFromDocumentStore")
async def delete_loader_from_document_store(call: Call) -> dict[str, Any]:
    where = "deleteLoaderFromDocumentStore"
    store = _store(call, call.path["id"], where=where)
    loaders = stores.loaders_of(store)
    found = next((e for e in loaders if e.get("id") == call.path["loaderId"]), None)
    if found is None:
        raise missing(call, f"Unable to locate loader in Document Store {store['name']}",
                               where=f"{_SERVICE}.{where}")
    for file in found.get("files") or []:
        loading.remove_stored_file(_files_dir(call, store["id"]), file.get("name"))
    with call.db.transaction():
        stores.delete_chunks(call.db, found["id"])
        store = stores.save_loaders(call.db, store, [e for e in loaders if e is not found])
    return stores.to_dto(store)


# -- chunks -------------------------------------------------------------------------------------------------
def _page(call: Call, store: dict[str, Any], loader_id: str, page: int, *, where: str) -> dict[str, Any]:
    result = stores.chunk_page(call.db, store, loader_id, page)
    if result is None:
        raise missing(call, f"Document loader {loader_id} not found", where=f"{_SERVICE}.{where}")
    return result


@operation("getDocumentStoreFileChunks")
async def get_document_store_file_chunks(call: Call) -> dict[str, Any]:
    where = "getDocumentStoreFileChunks"
    store = _store(call, call.path["storeId"], where=where)
    return _page(call, store, call.path["fileId"], call.path["pageNo"], where=where)


def _chunk_target(call: Call, where: str) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any],
                                                   dict[str, Any]]:
    """(store, loaders, loader entry, chunk) named by the path, or the not-found error for the missing one."""
    store = _store(call, call.path["storeId"], where=where)
    loaders = stores.loaders_of(store)
    entry = next((e for e in loaders if e.get("id") == call.path["loaderId"]), None)
    if entry is None:
        raise missing(call, f"Document store loader {call.path['loaderId']} not found",
                               where=f"{_SERVICE}.{where}")
    chunk = stores.find_chunk(call.db, store["id"], chunk_id=call.path["chunkId"])
    if chunk is None or chunk["docId"] != entry["id"]:
        raise missing(call, f"Document Chunk {call.path['chunkId']} not found", where=f"{_SERVICE}.{where}")
    return store, loaders, entry, chunk


@operation("editDocumentStoreFileChunk")
async def edit_document_store_file_chunk(call: Call) -> dict[str, Any]:
    where = "editDocumentStoreFileChunk"
    store, loaders, entry, chunk = _chunk_target(call, where)
    content = call.body["pageContent"]
    changes: dict[str, Any] = {"pageContent": content}
    if isinstance(call.body.get("metadata"), dict):
        changes["metadata"] = json.dumps(call.body["metadata"], separators=(",", ":"), ensure_ascii=False)
    entry["totalChars"] = int(entry.get("totalChars") or 0) - len(chunk["pageContent"]) + len(content)
    with call.db.transaction():
        stores.update_chunk(call.db, chunk["id"], changes)
        store = stores.save_loaders(call.db, store, loaders)
    return _page(call, store, entry["id"], 1, where=where)


@operation("deleteDocumentStoreFileChunk")
async def delete_document_store_file_chunk(call: Call) -> dict[str, Any]:
    where = "deleteDocumentStoreFileChunk"
    store, loaders, entry, chunk = _chunk_target(call, where)
    entry["totalChunks"] = max(int(entry.get("totalChunks") or 0) - 1, 0)
    entry["totalChars"] = max(int(entry.get("totalChars") or 0) - len(chunk["pageContent"]), 0)
    with call.db.transaction():
        stores.delete_chunk(call.db, chunk["id"])
        store = stores.save_loaders(call.db, store, loaders)
    return _page(call, store, entry["id"], 1, where=where)


# -- upserts and retrieval ------------------------------------------------------------------------------------
def _upsert(call: Call, store: dict[str, Any], item: dict[str, Any], *, refresh: bool,
            uploads: list[tuple[str, str, bytes]], where: str) -> dict[str, Any]:
    """One loader entry through load → split → chunks → vectors, as Flowise's ``upsertDocStore``."""
    request = loading.UpsertRequest.parse(item)
    base: dict[str, Any] = {}
    if request.doc_id:
        base = next((dict(e) for e in stores.loaders_of(store) if e.get("id") == request.doc_id), {})
        if not base:
            raise missing(call, f"Document loader {request.doc_id} not found", where=f"{_SERVICE}.{where}")
    data = request.loader_data(base, uploads)
    keep_id = request.doc_id and (refresh or request.replace_existing)
    entry_id = request.doc_id if keep_id and request.doc_id else new_id()
    store, _ = _process(call, store, entry_id, data)
    configs = request.vector_configs()
    if configs:
        stores.set_configs(call.db, store["id"], configs)
    rows = stores.chunks_of(call.db, store["id"], entry_id)
    documents = [{"pageContent": r["pageContent"], "metadata": {**json.loads(r["metadata"]), "docId": entry_id}}
                 for r in rows]
    with call.db.transaction():
        deleted = stores.prune_vectors(call.db, store["id"], entry_id, documents)
        added = vectors.add_documents(call.db, store["id"], documents, doc_id=entry_id)
        result = {"numAdded": added.num_added, "numDeleted": deleted, "numUpdated": 0, "numSkipped": added.skipped,
                  "totalKeys": vectors.count(call.db, store["id"]), "addedDocs": added.added}
        stores.record_upsert(call.db, store["id"], result, loading.upsert_flow_data(store, configs))
        stores.mark_upserted(call.db, store["id"])
    call.state.metrics.count("vector_upserted")
    return {**result, "docId": entry_id}


@operation("upsertDocument")
async def upsert_document(call: Call) -> dict[str, Any]:
    item = dict(call.body or {})
    uploads = [await loading.read_upload(upload) for upload in call.files]
    if loading.flag(item.get("createNewDocStore")):
        doc_store = loading.json_field(item, "docStore") or {}
        body = {"name": doc_store.get("name") or f"Document Store {int(time.time() * 1000)}",
                "description": doc_store.get("description")}
        store = stores.create_store(call.db, workspace_id=call.workspace_id, body=body)
    else:
        store = _store(call, call.path["id"], where="upsertDocStore")
    return _upsert(call, store, item, refresh=False, uploads=uploads, where="upsertDocStore")


@operation("refreshDocument")
async def refresh_document(call: Call) -> list[dict[str, Any]]:
    store = _store(call, call.path["id"], where="refreshDocStore")
    items = (call.body or {}).get("items") or [{"docId": e["id"]} for e in stores.loaders_of(store) if e.get("id")]
    results = []
    for item in items:
        results.append(_upsert(call, store, item, refresh=True, uploads=[], where="refreshDocStore"))
        store = _store(call, store["id"], where="refreshDocStore")
    return results


def _unconfigured(store: dict[str, Any], *columns: str) -> str | None:
    """The first of the store's ``columns`` (``embeddingConfig``, ...) that holds no config, else None."""
    return next((column for column in columns if not store.get(column)), None)


_CONFIG_NAMES = {"embeddingConfig": "Embedding", "vectorStoreConfig": "Vector Store"}


@operation("queryVectorStore")
async def query_vector_store(call: Call) -> dict[str, Any]:
    store = _store(call, call.body["storeId"], where="queryVectorStore")
    lacking = _unconfigured(store, "embeddingConfig", "vectorStoreConfig")
    if lacking and quirks.active(call, "client-error-500"):  # the mock's stores default to its own; Flowise's not
        raise FlowiseError(500, f"Error: {_SERVICE}.queryVectorStore - {_CONFIG_NAMES[lacking]} for {store['id']} "
                                "is not configured")
    started = time.perf_counter()
    hits = vectors.search(call.db, store["id"], call.body["query"], loading.top_k(store))
    took = round((time.perf_counter() - started) * 1000)
    docs = []
    for hit in hits:
        chunk = stores.find_chunk(call.db, store["id"], content=hit.page_content)
        docs.append({"pageContent": hit.page_content, "metadata": hit.metadata,
                     "id": chunk["id"] if chunk else new_id(), "chunkNo": chunk["chunkNo"] if chunk else -1})
    return {"timeTaken": took, "docs": docs}


@operation("deleteVectorStoreFromStore")
async def delete_vector_store_from_store(call: Call) -> dict[str, Any]:
    store = _store(call, call.path["storeId"], where="deleteVectorStoreFromStore")
    lacking = _unconfigured(store, "embeddingConfig", "vectorStoreConfig", "recordManagerConfig")
    if lacking and quirks.active(call, "missing-id-500"):  # Flowise's 404 for each missing config, wrapped
        what = f"{_CONFIG_NAMES[lacking]} for Document store {store['id']} not found" if lacking in _CONFIG_NAMES \
            else f"Record Manager for Document Store {store['id']} is needed to delete data from Vector Store"
        raise FlowiseError(500, f"Error: {_SERVICE}.deleteVectorStoreFromStore - {what}")
    doc_id = call.query.get("docId")
    if doc_id:
        vectors.delete_documents(call.db, store["id"], doc_id)
    else:
        vectors.delete_namespace(call.db, store["id"])
    return {}
