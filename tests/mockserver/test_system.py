"""Ping, version and metrics: public probes answer without a key, metrics needs one."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def counter(text: str, name: str) -> float:
    """The success count of a Flowise counter in an exposition text (however the library suffixes it)."""
    for family in text_string_to_metric_families(text):
        if family.name == name:
            return sum(s.value for s in family.samples
                       if s.labels.get("status") == "success" and s.name in (name, f"{name}_total"))
    raise AssertionError(f"{name} not exposed")


CHATFLOW = {"name": "m", "flowData": '{"nodes":[],"edges":[]}', "type": "CHATFLOW"}


async def test_ping_is_public_text_html_pong(client) -> None:
    response = await client.get("/ping")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "pong"


async def test_version_is_public_and_follows_settings(client, make_client) -> None:
    response = await client.get("/version")
    assert response.status_code == 200 and response.json() == {"version": "3.1.4"}
    other = make_client(version="3.0.12")
    assert (await other.get("/version")).json() == {"version": "3.0.12"}


async def test_metrics_need_a_key_but_no_permission(client, key_headers) -> None:
    refused = await client.get("/metrics")
    assert refused.status_code == 401 and refused.json() == {"error": "Unauthorized Access"}
    any_key = await key_headers("tools:view")
    response = await client.get("/metrics", headers=any_key)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    versions = [s.labels for f in text_string_to_metric_families(response.text) for s in f.samples
                if f.name == "flowise_version_info"]
    assert any(labels.get("version") == "v3.1.4" for labels in versions)


async def test_metrics_count_created_resources(client, admin_headers) -> None:
    await client.post("/chatflows", json=CHATFLOW, headers=admin_headers)
    await client.post("/chatflows", json={**CHATFLOW, "type": "AGENTFLOW"}, headers=admin_headers)
    await client.post("/chatflows", json={**CHATFLOW, "type": "MULTIAGENT"}, headers=admin_headers)
    await client.post("/tools", json={"name": "t", "description": "d", "color": "c"}, headers=admin_headers)
    await client.post("/assistants", json={"details": "{}", "credential": "6a2f8d4c-9e1b-4c73-a5d0-e8b3f7c1a246",
                                           "type": "CUSTOM"}, headers=admin_headers)
    text = (await client.get("/metrics", headers=admin_headers)).text
    assert counter(text, "chatflow_created") == 1
    assert counter(text, "agentflow_created") == 2
    assert counter(text, "tool_created") == 1
    assert counter(text, "assistant_created") == 1
