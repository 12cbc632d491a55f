"""Document stores over HTTP: CRUD, loaders and chunks, upserts into the fake vector store, retrieval.

Every response passes the strict-mode check, so these tests also hold the handlers to the spec's schemas.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.llm.chunking import split_text

MISSING = "00000000-0000-4000-8000-000000000000"
TEXT = ("Flowise is a visual builder for LLM applications. It exposes a REST API under /api/v1.\n\n"
        "Document stores split text into chunks and upsert them into a vector store.")
SPLITTER = {"name": "recursiveCharacterTextSplitter", "config": {"chunkSize": 60, "chunkOverlap": 0}}
EXPECTED = split_text(TEXT, chunk_size=60, chunk_overlap=0)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")


def error(response: httpx.Response, status: int, fragment: str = "") -> str:
    """Assert Flowise's error body with ``status`` and a message containing ``fragment``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["statusCode", "success", "message", "stack"], body
    assert body["statusCode"] == status and body["success"] is False and body["stack"] == {}
    assert fragment in body["message"], body["message"]
    return body["message"]


@pytest.fixture
async def store(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/document-store/store", json={"name": "Handbook", "description": "Employee handbook"},
                                 headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()


async def upsert(client: httpx.AsyncClient, headers: dict[str, str], store_id: str, text: str = TEXT,
                 **extra: Any) -> httpx.Response:
    body = {"loader": {"name": "plainText", "config": {"text": text}}, "splitter": SPLITTER, **extra}
    return await client.post(f"/document-store/upsert/{store_id}", json=body, headers=headers)


async def read_store(client: httpx.AsyncClient, headers: dict[str, str], store_id: str) -> dict[str, Any]:
    response = await client.get(f"/document-store/store/{store_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- stores -----------------------------------------------------------------------------------------------------
async def test_create_answers_the_raw_entity(store: dict[str, Any]) -> None:
    assert store["loaders"] == "[]" and store["whereUsed"] == "[]"
    assert store["status"] == "EMPTY" and store["name"] == "Handbook"
    assert store["vectorStoreConfig"] is None and store["workspaceId"]
    uuid.UUID(store["id"])


async def test_store_lifecycle(client: httpx.AsyncClient, admin_headers: dict[str, str],
                               store: dict[str, Any]) -> None:
    dto = await read_store(client, admin_headers, store["id"])
    assert dto["loaders"] == [] and dto["whereUsed"] == [] and dto["totalChars"] == 0 and dto["totalChunks"] == 0
    listed = (await client.get("/document-store/store", headers=admin_headers)).json()
    assert [s["id"] for s in listed] == [store["id"]]

    updated = await client.put(f"/document-store/store/{store['id']}", json={"name": "Handbook 2026"},
                               headers=admin_headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Handbook 2026" and updated.json()["description"] == "Employee handbook"
    assert (await read_store(client, admin_headers, store["id"]))["name"] == "Handbook 2026"

    deleted = await client.delete(f"/document-store/store/{store['id']}", headers=admin_headers)
    assert deleted.status_code == 200 and deleted.json() == {"deleted": 1}
    error(await client.get(f"/document-store/store/{store['id']}", headers=admin_headers), 404,
          f"Document store {store['id']} not found")
    error(await client.delete(f"/document-store/store/{store['id']}", headers=admin_headers), 404)
    error(await client.put(f"/document-store/store/{store['id']}", json={"name": "x"}, headers=admin_headers), 404)


async def test_where_used_resolves_chatflow_names(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    flow = await client.post("/chatflows", json={"name": "Support bot", "flowData": '{"nodes":[],"edges":[]}',
                                                 "type": "CHATFLOW"}, headers=admin_headers)
    assert flow.status_code == 200, flow.text
    created = (await client.post("/document-store/store", json={"name": "S"}, headers=admin_headers)).json()
    await client.put(f"/document-store/store/{created['id']}", json={"whereUsed": [flow.json()["id"], MISSING]},
                     headers=admin_headers)
    dto = await read_store(client, admin_headers, created["id"])
    assert dto["whereUsed"] == [{"id": flow.json()["id"], "name": "Support bot"}]


async def test_list_pages_newest_first(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    ids = []
    for i in range(3):
        ids.append((await client.post("/document-store/store", json={"name": f"s{i}"}, headers=admin_headers)).json()["id"])
    page = (await client.get("/document-store/store", params={"page": 1, "limit": 2}, headers=admin_headers)).json()
    assert page["total"] == 3 and [s["id"] for s in page["data"]] == ids[::-1][:2]
    rest = (await client.get("/document-store/store", params={"page": 2, "limit": 2}, headers=admin_headers)).json()
    assert [s["id"] for s in rest["data"]] == ids[:1]


async def test_bad_requests_name_the_field(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    error(await client.post("/document-store/store", json={}, headers=admin_headers), 400, "'name'")
    error(await client.post("/document-store/store", json={"name": 5}, headers=admin_headers), 400, "/name")
    error(await client.get("/document-store/store/not-a-uuid", headers=admin_headers), 400, "'id'")


async def test_management_routes_need_a_key_with_permission(client: httpx.AsyncClient, key_headers: Any) -> None:
    response = await client.get("/document-store/store")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    response = await client.post(f"/document-store/upsert/{MISSING}", json={"docId": MISSING})
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}
    viewer = await key_headers("chatflows:view")
    forbidden = await client.post("/document-store/store", json={"name": "x"}, headers=viewer)
    assert forbidden.status_code == 403 and forbidden.json() == {"message": "Forbidden"}


async def test_unknown_store_under_quirks_is_the_wrapped_500(make_client: Any, admin_headers: dict[str, str]) -> None:
    quirky = make_client(quirks="flowise-3.1")
    message = error(await quirky.delete(f"/document-store/store/{MISSING}", headers=admin_headers), 500)
    assert message == f"Error: documentStoreServices.deleteDocumentStore - Document store {MISSING} not found"
    error(await quirky.post(f"/document-store/upsert/{MISSING}", json={"docId": MISSING}, headers=admin_headers), 500,
          "Error: documentStoreServices.upsertDocStore - ")
    # GET keeps its 404 (the spec notes no missing-id-500 for it).
    error(await quirky.get(f"/document-store/store/{MISSING}", headers=admin_headers), 404)


# -- preview, process, chunks -------------------------------------------------------------------------------
def preview_body(**extra: Any) -> dict[str, Any]:
    return {"loaderId": "plainText", "loaderConfig": {"text": TEXT, "metadata": {"source": "handbook"}},
            "splitterId": "recursiveCharacterTextSplitter", "splitterConfig": {"chunkSize": "60", "chunkOverlap": 0},
            **extra}


async def test_preview_splits_without_storing(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                              store: dict[str, Any]) -> None:
    response = await client.post("/document-store/loader/preview", json=preview_body(previewChunkCount=2),
                                 headers=admin_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["totalChunks"] == len(EXPECTED) > 2 and body["previewChunkCount"] == 2
    assert [c["pageContent"] for c in body["chunks"]] == EXPECTED[:2]
    assert body["chunks"][0]["metadata"] == {"source": "handbook", "loc": {"lines": {"from": 1, "to": 1}}}
    everything = (await client.post("/document-store/loader/preview", json=preview_body(previewChunkCount=-1),
                                    headers=admin_headers)).json()
    assert everything["previewChunkCount"] == len(EXPECTED) == len(everything["chunks"])
    assert (await read_store(client, admin_headers, store["id"]))["loaders"] == []


async def test_preview_without_splitter_is_one_chunk_and_binary_is_refused(client: httpx.AsyncClient,
                                                                           admin_headers: dict[str, str]) -> None:
    body = (await client.post("/document-store/loader/preview", json={"loaderId": "plainText", "loaderConfig": {
        "text": TEXT, "metadata": '{"a": 1}', "omitMetadataKeys": "*"}}, headers=admin_headers)).json()
    assert body["chunks"] == [{"pageContent": TEXT, "metadata": {"a": 1}}] and body["totalChunks"] == 1
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAcCBlCwAAAABJRU5ErkJggg==,filename:pixel.png"
    binary = await client.post("/document-store/loader/preview", json={"loaderId": "txtFile", "loaderConfig": {
        "txtFile": png}}, headers=admin_headers)  # the mock's loaders read text only: a binary file loads nothing
    assert binary.status_code == 200 and binary.json()["totalChunks"] == 0
    scraper = await client.post("/document-store/loader/preview", json={"loaderId": "cheerioWebScraper", "loaderConfig": {
        "url": "https://example.com"}}, headers=admin_headers)  # a loader the mock cannot run loads nothing
    assert scraper.status_code == 200 and scraper.json()["chunks"] == [] and scraper.json()["totalChunks"] == 0


async def process(client: httpx.AsyncClient, headers: dict[str, str], store_id: str, loader_id: str,
                  text: str = TEXT, chunk_size: int = 60) -> httpx.Response:
    body = {"storeId": store_id, "loaderId": "plainText", "loaderName": "Plain Text", "loaderConfig": {"text": text},
            "splitterId": "recursiveCharacterTextSplitter",
            "splitterConfig": {"chunkSize": chunk_size, "chunkOverlap": 0}}
    return await client.post(f"/document-store/loader/process/{loader_id}", json=body, headers=headers)


async def test_process_stores_chunks_and_they_can_be_edited(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                            store: dict[str, Any]) -> None:
    sid, loader_id = store["id"], str(uuid.uuid4())
    response = await process(client, admin_headers, sid, loader_id)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["count"] == len(EXPECTED) and page["currentPage"] == 1 and page["storeName"] == "Handbook"
    assert [c["chunkNo"] for c in page["chunks"]] == list(range(1, len(EXPECTED) + 1))
    assert page["file"]["id"] == loader_id and page["characters"] == sum(map(len, EXPECTED))

    dto = await read_store(client, admin_headers, sid)
    assert dto["status"] == "SYNC" and dto["loaders"][0]["status"] == "SYNC" and dto["loaders"][0]["source"] == "None"
    assert dto["totalChunks"] == len(EXPECTED) and dto["totalChars"] == sum(map(len, EXPECTED))

    every = (await client.get(f"/document-store/chunks/{sid}/all/1", headers=admin_headers)).json()
    assert every["count"] == len(EXPECTED) and "file" not in every
    first = page["chunks"][0]
    edited = await client.put(f"/document-store/chunks/{sid}/{loader_id}/{first['id']}",
                              json={"pageContent": "Edited.", "metadata": {"reviewed": True}}, headers=admin_headers)
    assert edited.status_code == 200, edited.text
    chunk = edited.json()["chunks"][0]
    assert chunk["pageContent"] == "Edited." and chunk["metadata"] == '{"reviewed":true}'
    chars = sum(map(len, EXPECTED)) - len(EXPECTED[0]) + len("Edited.")
    assert (await read_store(client, admin_headers, sid))["totalChars"] == chars

    removed = await client.delete(f"/document-store/chunks/{sid}/{loader_id}/{first['id']}", headers=admin_headers)
    assert removed.status_code == 200 and removed.json()["count"] == len(EXPECTED) - 1
    dto = await read_store(client, admin_headers, sid)
    assert dto["totalChunks"] == len(EXPECTED) - 1 and dto["totalChars"] == chars - len("Edited.")
    error(await client.delete(f"/document-store/chunks/{sid}/{loader_id}/{first['id']}", headers=admin_headers), 404,
          "Document Chunk")
    error(await client.get(f"/document-store/chunks/{sid}/{MISSING}/1", headers=admin_headers), 404,
          f"Document loader {MISSING} not found")
    error(await client.put(f"/document-store/chunks/{sid}/{MISSING}/{first['id']}", json={"pageContent": "x"},
                           headers=admin_headers), 404, "Document store loader")
    error(await client.put(f"/document-store/chunks/{sid}/{loader_id}/{page['chunks'][1]['id']}", json={},
                           headers=admin_headers), 400, "'pageContent'")
    error(await process(client, admin_headers, MISSING, loader_id), 404, f"Document store {MISSING}")


async def test_reprocessing_a_loader_replaces_its_chunks(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                         store: dict[str, Any]) -> None:
    loader_id = str(uuid.uuid4())
    await process(client, admin_headers, store["id"], loader_id)
    again = await client.post(f"/document-store/loader/process/{loader_id}", json={
        "storeId": store["id"], "id": loader_id, "loaderConfig": {"text": "Short now."}}, headers=admin_headers)
    assert again.status_code == 200, again.text
    assert [c["pageContent"] for c in again.json()["chunks"]] == ["Short now."]
    loaders = (await read_store(client, admin_headers, store["id"]))["loaders"]
    assert len(loaders) == 1 and loaders[0]["splitterId"] == "recursiveCharacterTextSplitter"


async def test_chunk_pages_hold_fifty(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                      store: dict[str, Any]) -> None:
    loader_id = str(uuid.uuid4())
    text = " ".join(f"word{i:03d}" for i in range(120))
    assert (await process(client, admin_headers, store["id"], loader_id, text, chunk_size=10)).status_code == 200
    second = (await client.get(f"/document-store/chunks/{store['id']}/{loader_id}/2", headers=admin_headers)).json()
    assert second["count"] == 120 and second["currentPage"] == 2 and len(second["chunks"]) == 50
    assert second["chunks"][0]["chunkNo"] == 51
    error(await client.get(f"/document-store/chunks/{store['id']}/{loader_id}/0", headers=admin_headers), 400)


async def test_delete_loader_removes_its_chunks(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                store: dict[str, Any]) -> None:
    keep, drop = str(uuid.uuid4()), str(uuid.uuid4())
    await process(client, admin_headers, store["id"], keep)
    await process(client, admin_headers, store["id"], drop, "Another loader entirely.")
    response = await client.delete(f"/document-store/loader/{store['id']}/{drop}", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert [loader["id"] for loader in response.json()["loaders"]] == [keep]
    error(await client.get(f"/document-store/chunks/{store['id']}/{drop}/1", headers=admin_headers), 404)
    error(await client.delete(f"/document-store/loader/{store['id']}/{drop}", headers=admin_headers), 404,
          "Unable to locate loader in Document Store Handbook")


# -- upserts, retrieval -------------------------------------------------------------------------------------
async def test_upsert_then_reupsert_skips_unchanged_chunks(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                           store: dict[str, Any]) -> None:
    first = await upsert(client, admin_headers, store["id"], metadata={"source": "handbook"})
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["numAdded"], result["numSkipped"], result["numDeleted"]) == (len(EXPECTED), 0, 0)
    assert result["addedDocs"][0]["metadata"]["source"] == "handbook"
    assert result["addedDocs"][0]["metadata"]["docId"] == result["docId"]

    again = (await client.post(f"/document-store/upsert/{store['id']}",
                               json={"docId": result["docId"], "replaceExisting": True}, headers=admin_headers)).json()
    assert again["docId"] == result["docId"]
    assert (again["numAdded"], again["numSkipped"], again["numDeleted"]) == (0, len(EXPECTED), 0)

    changed = (await upsert(client, admin_headers, store["id"], "Only this sentence now.", docId=result["docId"],
                            replaceExisting=True, metadata={"source": "handbook"})).json()
    assert changed["numAdded"] == 1 and changed["numDeleted"] == len(EXPECTED) and changed["totalKeys"] == 1

    dto = await read_store(client, admin_headers, store["id"])
    assert dto["status"] == "UPSERTED" and len(dto["loaders"]) == 1
    history = (await client.get(f"/upsert-history/{store['id']}", headers=admin_headers)).json()
    assert [h["result"]["numAdded"] for h in history] == [len(EXPECTED), 0, 1]
    assert all(h["chatflowid"] == store["id"] for h in history)


async def test_upsert_saves_vector_configs_and_adds_a_loader_each_time(client: httpx.AsyncClient,
                                                                       admin_headers: dict[str, str],
                                                                       store: dict[str, Any]) -> None:
    embedding = {"name": "openAIEmbeddings", "config": {"modelName": "text-embedding-3-small"}}
    one = (await upsert(client, admin_headers, store["id"], embedding=embedding)).json()
    two = (await upsert(client, admin_headers, store["id"])).json()
    assert one["docId"] != two["docId"]
    dto = await read_store(client, admin_headers, store["id"])
    assert len(dto["loaders"]) == 2 and dto["embeddingConfig"] == {"config": embedding["config"],
                                                                   "name": "openAIEmbeddings"}
    assert dto["loaders"][0]["loaderName"] == "Plain Text"


async def test_upsert_multipart_text_files(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                           store: dict[str, Any], app: Any) -> None:
    files = [("files", ("notes.txt", b"Meeting moved to Thursday.\n\nBring the slides.", "text/plain"))]
    splitter = '{"name":"recursiveCharacterTextSplitter","config":{"chunkSize":30,"chunkOverlap":0}}'
    response = await client.post(f"/document-store/upsert/{store['id']}", files=files,
                                 data={"splitter": splitter, "metadata": '{"team":"ops"}'}, headers=admin_headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["numAdded"] == 2
    assert {d["metadata"]["source"] for d in result["addedDocs"]} == {"notes.txt"}
    assert result["addedDocs"][0]["metadata"]["team"] == "ops"
    loader = (await read_store(client, admin_headers, store["id"]))["loaders"][0]
    assert loader["loaderId"] == "txtFile" and loader["loaderConfig"]["txtFile"] == 'FILE-STORAGE::["notes.txt"]'
    assert loader["files"][0]["name"] == "notes.txt" and loader["source"] == '["notes.txt"]'
    stored = Path(app.state.mock.data_dir) / "docustore" / store["id"] / "notes.txt"
    assert stored.read_bytes().startswith(b"Meeting moved")

    refreshed = await client.post(f"/document-store/refresh/{store['id']}", headers=admin_headers)
    assert refreshed.status_code == 200, refreshed.text
    assert [(r["docId"], r["numAdded"], r["numSkipped"]) for r in refreshed.json()] == [(result["docId"], 0, 2)]


async def test_upsert_of_binary_files_loads_nothing_and_missing_loaders_are_refused(
        client: httpx.AsyncClient, admin_headers: dict[str, str], store: dict[str, Any]) -> None:
    sid = store["id"]
    files = [("files", ("logo.png", PNG, "image/png"))]
    loaded = await client.post(f"/document-store/upsert/{sid}", files=files, headers=admin_headers)
    assert loaded.status_code == 200 and loaded.json()["numAdded"] == 0 and loaded.json()["addedDocs"] == []
    error(await client.post(f"/document-store/upsert/{sid}", json={}, headers=admin_headers), 400)
    error(await client.post(f"/document-store/upsert/{sid}", files={"metadata": (None, "{}")},
                            headers=admin_headers), 400,
          "'files' is a required property")
    error(await client.post(f"/document-store/upsert/{sid}", files={"loader": (None, "{not json")},
                            headers=admin_headers),
          400, "/loader")
    error(await client.post(f"/document-store/upsert/{sid}", json={"docId": MISSING}, headers=admin_headers), 404,
          f"Document loader {MISSING} not found")
    error(await upsert(client, admin_headers, MISSING), 404, f"Document store {MISSING} not found")


async def test_multipart_loader_without_a_name_is_the_plain_text_loader(
        client: httpx.AsyncClient, admin_headers: dict[str, str], store: dict[str, Any]) -> None:
    # The multipart form carries the loader as JSON text, which the spec cannot require a name of: a
    # schema-valid `{}` selects the plain-text loader (with no text, nothing is loaded) instead of failing.
    response = await client.post(f"/document-store/upsert/{store['id']}", headers=admin_headers,
                                 files={"loader": (None, "{}"), "splitter": (None, "{}")})
    assert response.status_code == 200, response.text
    assert response.json()["numAdded"] == 0
    entry = await client.get(f"/document-store/store/{store['id']}", headers=admin_headers)
    loaders = entry.json()["loaders"]
    assert [(loader["loaderId"], loader["splitterId"]) for loader in loaders] == \
        [("plainText", "recursiveCharacterTextSplitter")]


async def test_refresh_runs_every_loader(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                         store: dict[str, Any]) -> None:
    ids = [(await upsert(client, admin_headers, store["id"], text)).json()["docId"] for text in (TEXT, "A second.")]
    results = (await client.post(f"/document-store/refresh/{store['id']}", json={}, headers=admin_headers)).json()
    assert [r["docId"] for r in results] == ids and all(r["numAdded"] == 0 and r["numSkipped"] for r in results)
    one = await client.post(f"/document-store/refresh/{store['id']}", json={"items": [{"docId": ids[1]}]},
                            headers=admin_headers)
    assert [r["docId"] for r in one.json()] == [ids[1]]
    error(await client.post(f"/document-store/refresh/{MISSING}", headers=admin_headers), 404)


async def test_query_answers_nearest_chunks_first(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                  store: dict[str, Any]) -> None:
    await upsert(client, admin_headers, store["id"], "Bananas are yellow fruit rich in potassium.")
    await upsert(client, admin_headers, store["id"], "The REST API lives under /api/v1 on port 3000.")
    response = await client.post("/document-store/vectorstore/query",
                                 json={"storeId": store["id"], "query": "Which port does the REST API use?"},
                                 headers=admin_headers)
    assert response.status_code == 200, response.text
    docs = response.json()["docs"]
    assert docs[0]["pageContent"].startswith("The REST API") and docs[0]["chunkNo"] == 1
    every = (await client.get(f"/document-store/chunks/{store['id']}/all/1", headers=admin_headers)).json()
    assert {d["id"] for d in docs} <= {c["id"] for c in every["chunks"]}
    error(await client.post("/document-store/vectorstore/query", json={"storeId": MISSING, "query": "x"},
                            headers=admin_headers), 404)
    error(await client.post("/document-store/vectorstore/query", json={"storeId": store["id"]},
                            headers=admin_headers), 400, "'query'")


async def test_delete_vector_store_empties_retrieval(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                                     store: dict[str, Any]) -> None:
    first = (await upsert(client, admin_headers, store["id"], "Alpha text about apples.")).json()["docId"]
    await upsert(client, admin_headers, store["id"], "Beta text about bees.")
    query = {"storeId": store["id"], "query": "apples bees"}
    one = await client.delete(f"/document-store/vectorstore/{store['id']}", params={"docId": first},
                              headers=admin_headers)
    assert one.status_code == 200 and one.json() == {}
    left = (await client.post("/document-store/vectorstore/query", json=query, headers=admin_headers)).json()["docs"]
    assert [d["pageContent"] for d in left] == ["Beta text about bees."]
    await client.delete(f"/document-store/vectorstore/{store['id']}", headers=admin_headers)
    assert (await client.post("/document-store/vectorstore/query", json=query,
                              headers=admin_headers)).json()["docs"] == []
    error(await client.delete(f"/document-store/vectorstore/{MISSING}", headers=admin_headers), 404)


async def test_delete_store_takes_chunks_vectors_history_and_files(client: httpx.AsyncClient,
                                                                   admin_headers: dict[str, str],
                                                                   store: dict[str, Any], app: Any) -> None:
    files = [("files", ("a.txt", b"Some text to keep.", "text/plain"))]
    response = await client.post(f"/document-store/upsert/{store['id']}", files=files, headers=admin_headers)
    assert response.status_code == 200, response.text
    deleted = await client.delete(f"/document-store/store/{store['id']}", headers=admin_headers)
    assert deleted.json() == {"deleted": 1}
    counts = (await client.get("http://testserver/__mock/state", headers=admin_headers)).json()
    assert counts["document_store_file_chunk"] == counts["vector"] == counts["upsert_history"] == 0
    assert not (Path(app.state.mock.data_dir) / "docustore" / store["id"]).exists()
