"""``POST /vector/upsert/{id}``: counts, skipping, splitter settings, files, history rows and errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

ADMIN = {"Authorization": "Bearer test-admin-key"}
LONG = "\n\n".join(f"Paragraph {i} talks about topic number {i} in some detail." for i in range(12))


def node(node_id: str, name: str, category: str, **inputs: Any) -> dict[str, Any]:
    return {"id": node_id, "data": {"id": node_id, "name": name, "label": name, "category": category,
                                    "inputs": inputs, "outputs": {}}}


def rag_flow(*extra: dict[str, Any], text: str = LONG) -> dict[str, Any]:
    nodes = [node("plainText_0", "plainText", "Document Loaders", text=text, metadata='{"source": "kb"}'),
             node("memoryVectorStore_0", "memoryVectorStore", "Vector Stores"), *extra]
    edges = [{"source": "plainText_0", "target": "memoryVectorStore_0"}]
    edges += [{"source": n["id"], "target": "plainText_0"} for n in extra if n["data"]["category"] == "Text Splitters"]
    return {"nodes": nodes, "edges": edges}


@pytest.fixture
def client(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def create_flow(client: httpx.AsyncClient, flow: dict[str, Any]) -> str:
    response = await client.post("/chatflows", json={"name": "v", "flowData": json.dumps(flow), "type": "CHATFLOW"},
                                 headers=ADMIN)
    return response.json()["id"]


async def test_upsert_counts_and_skips_unchanged_chunks(make_client: Callable[..., httpx.AsyncClient]) -> None:
    # not strict: the spec's UpsertHistory.flowData says object, Flowise stores an array of node summaries
    client = make_client(fast=True, strict=False)
    splitter = node("splitter_0", "recursiveCharacterTextSplitter", "Text Splitters", chunkSize="120",
                    chunkOverlap="0")
    flow_id = await create_flow(client, rag_flow(splitter))
    first = (await client.post(f"/vector/upsert/{flow_id}", json={}, headers=ADMIN)).json()
    assert list(first) == ["numAdded", "numDeleted", "numUpdated", "numSkipped", "totalKeys", "addedDocs"]
    assert first["numAdded"] == len(first["addedDocs"]) == first["totalKeys"] > 4
    assert all(len(d["pageContent"]) <= 120 for d in first["addedDocs"])
    assert first["addedDocs"][0]["metadata"]["source"] == "kb"
    second = (await client.post(f"/vector/upsert/{flow_id}", json={}, headers=ADMIN)).json()
    assert (second["numAdded"], second["numSkipped"], second["totalKeys"]) == (0, first["numAdded"], first["totalKeys"])
    history = (await client.get(f"/upsert-history/{flow_id}", headers=ADMIN)).json()
    assert len(history) == 2 and history[0]["result"]["numAdded"] in (0, first["numAdded"])
    assert "addedDocs" not in history[0]["result"] and "totalKeys" not in history[0]["result"]


async def test_default_splitter_and_a_multipart_file(client: httpx.AsyncClient) -> None:
    flow_id = await create_flow(client, rag_flow(text=""))
    text = " ".join(f"word{i:03d}" for i in range(300))  # 2399 characters: 3 chunks of <= 1000, 200 overlap
    body = (await client.post(f"/vector/upsert/{flow_id}", files={"files": ("notes.txt", text.encode(), "text/plain")},
                              headers=ADMIN)).json()
    assert body["numAdded"] == 3 and body["addedDocs"][0]["metadata"]["source"] == "notes.txt"
    asked = (await client.post(f"/prediction/{flow_id}", json={"question": "word150"})).json()
    assert "According to notes.txt [1]" in asked["text"]


async def test_file_inputs_in_data_uri_form(client: httpx.AsyncClient) -> None:
    encoded = base64.b64encode(b"Saturn has rings.").decode()
    loader = node("textFile_0", "textFile", "Document Loaders", txtFile=f"data:text/plain;base64,{encoded},filename:s.txt")
    flow = {"nodes": [loader, node("faiss_0", "faiss", "Vector Stores")],
            "edges": [{"source": "textFile_0", "target": "faiss_0"}]}
    flow_id = await create_flow(client, flow)
    body = (await client.post(f"/vector/upsert/{flow_id}", json={}, headers=ADMIN)).json()
    assert body["addedDocs"][0]["pageContent"] == "Saturn has rings."


async def test_upsert_errors(client: httpx.AsyncClient, expect_error: Callable[..., str]) -> None:
    empty = await create_flow(client, {"nodes": [], "edges": []})
    expect_error(await client.post(f"/vector/upsert/{empty}", json={}, headers=ADMIN), 404, "No vector node found")
    two = rag_flow(node("memoryVectorStore_1", "memoryVectorStore", "Vector Stores"))
    flow_id = await create_flow(client, two)
    expect_error(await client.post(f"/vector/upsert/{flow_id}", json={}, headers=ADMIN), 400)
    chosen = await client.post(f"/vector/upsert/{flow_id}", json={"stopNodeId": "memoryVectorStore_0"}, headers=ADMIN)
    assert chosen.status_code == 200 and chosen.json()["numAdded"] > 0
    expect_error(await client.post(f"/vector/upsert/{flow_id}", json={"stopNodeId": "nope"}, headers=ADMIN), 404)
    missing = "00000000-0000-0000-0000-000000000000"
    expect_error(await client.post(f"/vector/upsert/{missing}", json={}, headers=ADMIN), 404)
