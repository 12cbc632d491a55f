"""Upsert history over HTTP: listing (parsed, ordered, filtered by date) and ``PATCH /upsert-history``."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

MISSING = "00000000-0000-4000-8000-000000000000"
DATES = ("2026-01-01T10:00:00.000Z", "2026-01-02T10:00:00.000Z", "2026-01-03T10:00:00.000Z")


@pytest.fixture
async def chatflow_id(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> str:
    response = await client.post("/chatflows", json={"name": "RAG bot", "flowData": '{"nodes":[],"edges":[]}',
                                                     "type": "CHATFLOW"}, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()["id"]


@pytest.fixture
def history(app: Any, chatflow_id: str) -> list[str]:
    """Three records of the chatflow, one day apart (inserted directly, as a vector upsert would)."""
    ids = []
    for n, date in enumerate(DATES, start=1):
        row = {"id": str(uuid.uuid4()), "chatflowid": chatflow_id, "date": date,
               "result": json.dumps({"numAdded": n, "numDeleted": 0, "numUpdated": 0, "numSkipped": 0}),
               "flowData": json.dumps({"nodes": [{"id": "memoryVectorStore_0"}], "edges": []})}
        app.state.mock.db.insert("upsert_history", row)
        ids.append(row["id"])
    return ids


async def test_list_parses_and_orders(client: httpx.AsyncClient, admin_headers: dict[str, str], chatflow_id: str,
                                      history: list[str]) -> None:
    response = await client.get(f"/upsert-history/{chatflow_id}", headers=admin_headers)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [r["id"] for r in rows] == history
    assert rows[0]["result"] == {"numAdded": 1, "numDeleted": 0, "numUpdated": 0, "numSkipped": 0}
    assert rows[0]["flowData"]["nodes"][0]["id"] == "memoryVectorStore_0"
    assert list(rows[0]) == ["id", "chatflowid", "result", "flowData", "date"]
    newest = (await client.get(f"/upsert-history/{chatflow_id}", params={"order": "DESC"},
                               headers=admin_headers)).json()
    assert [r["id"] for r in newest] == history[::-1]


async def test_date_filters(client: httpx.AsyncClient, admin_headers: dict[str, str], chatflow_id: str,
                            history: list[str]) -> None:
    after = await client.get(f"/upsert-history/{chatflow_id}", params={"startDate": "2026-01-02T00:00:00Z"},
                             headers=admin_headers)
    assert [r["id"] for r in after.json()] == history[1:]
    window = await client.get(f"/upsert-history/{chatflow_id}", params={
        "startDate": "2026-01-02T00:00:00.000Z", "endDate": "2026-01-02T12:00:00+02:00"}, headers=admin_headers)
    assert [r["id"] for r in window.json()] == history[1:2]


async def test_empty_unknown_and_invalid(client: httpx.AsyncClient, admin_headers: dict[str, str], chatflow_id: str,
                                         expect_error: Any) -> None:
    assert (await client.get(f"/upsert-history/{chatflow_id}", headers=admin_headers)).json() == []
    expect_error(await client.get(f"/upsert-history/{MISSING}", headers=admin_headers), 404,
                 f"Error: upsertHistoryController.getAllUpsertHistory - resource {MISSING} not found in workspace!")
    expect_error(await client.get("/upsert-history/not-a-uuid", headers=admin_headers), 400)
    expect_error(await client.get(f"/upsert-history/{chatflow_id}", params={"order": "sideways"},
                                  headers=admin_headers), 400)
    response = await client.get(f"/upsert-history/{chatflow_id}")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}


async def test_document_store_upserts_are_listed_under_the_store(client: httpx.AsyncClient,
                                                                 admin_headers: dict[str, str]) -> None:
    store = (await client.post("/document-store/store", json={"name": "S"}, headers=admin_headers)).json()
    upserted = await client.post(f"/document-store/upsert/{store['id']}", json={
        "loader": {"name": "plainText", "config": {"text": "One short text."}}}, headers=admin_headers)
    assert upserted.status_code == 200, upserted.text
    rows = (await client.get(f"/upsert-history/{store['id']}", headers=admin_headers)).json()
    assert len(rows) == 1 and rows[0]["chatflowid"] == store["id"]
    assert rows[0]["result"] == {"numAdded": 1, "numDeleted": 0, "numUpdated": 0, "numSkipped": 0}
    assert {n["category"] for n in rows[0]["flowData"]["nodes"]} == {"Embeddings", "Vector Stores"}


async def test_patch_deletes_listed_records(client: httpx.AsyncClient, admin_headers: dict[str, str],
                                            chatflow_id: str, history: list[str], expect_error: Any) -> None:
    expect_error(await client.patch("/upsert-history", json={"ids": [history[0], MISSING]}, headers=admin_headers),
                 404)
    assert len((await client.get(f"/upsert-history/{chatflow_id}", headers=admin_headers)).json()) == 3
    response = await client.patch("/upsert-history", json={"ids": history[:2]}, headers=admin_headers)
    assert response.status_code == 200 and response.json() == {"raw": [], "affected": 2}
    left = (await client.get(f"/upsert-history/{chatflow_id}", headers=admin_headers)).json()
    assert [r["id"] for r in left] == history[2:]


async def test_patch_needs_ids(client: httpx.AsyncClient, admin_headers: dict[str, str], expect_error: Any) -> None:
    assert "ids" in expect_error(await client.patch("/upsert-history", json={"ids": []}, headers=admin_headers), 400)
    assert "ids" in expect_error(await client.patch("/upsert-history", json={}, headers=admin_headers), 400)
    expect_error(await client.patch("/upsert-history", json={"ids": ["nope"]}, headers=admin_headers), 400)
    response = await client.patch("/upsert-history", json={"ids": [MISSING]})
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized Access"}


async def test_documented_patch_with_id_is_not_a_route(client: httpx.AsyncClient, make_client: Any,
                                                       admin_headers: dict[str, str]) -> None:
    response = await client.patch(f"/upsert-history/{MISSING}", json={"ids": [MISSING]}, headers=admin_headers)
    assert response.status_code == 405
    quirky = make_client(quirks="flowise-3.1")
    html = await quirky.patch(f"/upsert-history/{MISSING}", json={"ids": [MISSING]}, headers=admin_headers)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
