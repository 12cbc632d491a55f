"""Per-chatflow rate limits, allowed origins and CORS settings, through the whole app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

FLOW = {"name": "limited", "type": "CHATFLOW", "flowData": '{"nodes":[],"edges":[]}'}


async def limited_flow(client: httpx.AsyncClient, headers: dict[str, str], *, limit: int, seconds: int) -> str:
    config = {"rateLimit": {"status": True, "limitMax": str(limit), "limitDuration": str(seconds),
                            "limitMsg": "Slow down, please"}}
    r = await client.post("/chatflows", headers=headers, json={**FLOW, "apiConfig": json.dumps(config)})
    assert r.status_code == 200, r.text
    return r.json()["id"]


async def test_rate_limit_trips_with_flowise_headers_and_resets(make_client: Any, admin_headers: dict[str, str]) -> None:
    client = make_client(fast=True)
    flow = await limited_flow(client, admin_headers, limit=2, seconds=1)
    answers = [await client.post(f"/prediction/{flow}", json={"question": "hi"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
    assert all(a.headers["x-ratelimit-limit"] == "2" for a in answers)
    refused = answers[2]
    assert refused.text == "Slow down, please"
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["retry-after"]) <= 2
    assert "retry-after" not in answers[0].headers
    await asyncio.sleep(1.2)
    assert (await client.post(f"/prediction/{flow}", json={"question": "again"})).status_code == 200


async def test_rate_limit_also_guards_vector_upsert_and_not_other_flows(make_client: Any,
                                                                      admin_headers: dict[str, str]) -> None:
    client = make_client(fast=True)
    flow = await limited_flow(client, admin_headers, limit=1, seconds=60)
    other = (await client.post("/chatflows", headers=admin_headers, json=FLOW)).json()["id"]
    assert (await client.post(f"/prediction/{flow}", json={"question": "hi"})).status_code == 200
    assert (await client.post(f"/vector/upsert/{flow}", headers=admin_headers, json={})).status_code == 429
    assert (await client.post(f"/prediction/{other}", json={"question": "hi"})).status_code == 200
    assert "x-ratelimit-limit" not in (await client.post(f"/prediction/{other}", json={"question": "x"})).headers


async def test_disabled_limit_is_not_applied(make_client: Any, admin_headers: dict[str, str]) -> None:
    client = make_client(fast=True)
    config = {"rateLimit": {"status": False, "limitMax": "1", "limitDuration": "60", "limitMsg": "no"}}
    flow = (await client.post("/chatflows", headers=admin_headers,
                              json={**FLOW, "apiConfig": json.dumps(config)})).json()["id"]
    for _ in range(3):
        assert (await client.post(f"/prediction/{flow}", json={"question": "hi"})).status_code == 200


async def test_allowed_origins_refuse_other_sites(make_client: Any, admin_headers: dict[str, str],
                                                  expect_error: Any) -> None:
    client = make_client(fast=True)
    config = {"allowedOrigins": ["https://shop.example"]}
    flow = (await client.post("/chatflows", headers=admin_headers,
                              json={**FLOW, "chatbotConfig": json.dumps(config)})).json()["id"]
    r = await client.post(f"/prediction/{flow}", json={"question": "hi"}, headers={"Origin": "https://evil.example"})
    expect_error(r, 403, "This site is not allowed to access this chatbot")
    ok = await client.post(f"/prediction/{flow}", json={"question": "hi"}, headers={"Origin": "https://shop.example"})
    assert ok.status_code == 200
    assert (await client.post(f"/prediction/{flow}", json={"question": "hi"})).status_code == 200


async def test_cors_origins_setting_restricts_browsers(make_client: Any) -> None:
    client = make_client(cors_origins="https://app.example")
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = await client.options("/ping", headers={"Origin": "https://app.example", **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://app.example"
    refused = await client.options("/ping", headers={"Origin": "https://other.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = await client.get("/ping", headers={"Origin": "https://app.example"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example"


async def test_odd_json_in_config_columns_does_not_break_the_flow(make_client: Any, admin_headers: dict[str, str]) -> None:
    """The columns' format allows any JSON text; a non-object (``true``, ``[1]``) reads as no configuration."""
    client = make_client(fast=True)
    flow = (await client.post("/chatflows", headers=admin_headers, json={
        **FLOW, "chatbotConfig": "true", "apiConfig": "[1]", "followUpPrompts": "3", "speechToText": "null"})).json()["id"]
    assert (await client.post(f"/prediction/{flow}", json={"question": "hi"})).status_code == 200
    config = await client.get(f"/public-chatbotConfig/{flow}")
    assert config.status_code == 200 and config.json()["isTTSEnabled"] is False
    assert (await client.get(f"/chatflows-uploads/{flow}")).status_code == 200
