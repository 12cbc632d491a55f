"""``--quirks flowise-3.1`` reproduces the real server's deviations; by default the contract holds."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

FLOW = {"name": "q", "type": "CHATFLOW", "flowData": '{"nodes":[],"edges":[]}'}


async def new_flow(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return (await client.post("/chatflows", headers=headers, json=FLOW)).json()["id"]


async def test_missing_question_is_400_by_contract_and_answered_under_quirks(
        make_client: Any, admin_headers: dict[str, str], expect_error: Any) -> None:
    plain, quirky = make_client(fast=True), make_client(fast=True, quirks="flowise-3.1")
    expect_error(await plain.post(f"/prediction/{await new_flow(plain, admin_headers)}", json={}), 400)
    answered = await quirky.post(f"/prediction/{await new_flow(quirky, admin_headers)}", json={})
    assert answered.status_code == 200 and "text" in answered.json()


async def test_streaming_failure_before_the_stream_hangs_only_under_quirks(make_client: Any,
                                                                           expect_error: Any) -> None:
    missing = f"/prediction/{uuid.uuid4()}"
    plain = make_client(fast=True)
    expect_error(await plain.post(missing, json={"question": "hi", "streaming": True}), 404)
    quirky = make_client(fast=True, quirks="flowise-3.1")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(quirky.post(missing, json={"question": "hi", "streaming": True}), timeout=1.0)
    # the same request without streaming gets its JSON error even under quirks
    expect_error(await quirky.post(missing, json={"question": "hi"}), 404)


async def test_injected_errors_are_exempt_from_strict_mode(make_client: Any, admin_headers: dict[str, str],
                                                          expect_error: Any) -> None:
    client = make_client(fast=True, strict=True)
    flow = await new_flow(client, admin_headers)
    r = await client.post(f"/prediction/{flow}", json={"question": "hi"}, headers={"X-Mock-Error": "503"})
    assert "Strict mode" not in expect_error(r, 503)


async def test_unknown_ids_answer_404_or_the_wrapped_500(make_client: Any, admin_headers: dict[str, str],
                                                        expect_error: Any) -> None:
    missing = str(uuid.uuid4())
    plain, quirky = make_client(), make_client(quirks="flowise-3.1")
    expect_error(await plain.get(f"/tools/{missing}", headers=admin_headers), 404)
    message = expect_error(await quirky.get(f"/tools/{missing}", headers=admin_headers), 500)
    assert message.startswith("Error: toolsService.getToolById - ")
    expect_error(await plain.delete(f"/variables/{missing}", headers=admin_headers), 404)
    gone = await quirky.delete(f"/variables/{missing}", headers=admin_headers)
    assert gone.status_code == 200 and gone.json() == {"raw": [], "affected": 0}


async def test_multipart_streaming_failure_also_hangs_under_quirks(make_client: Any) -> None:
    quirky = make_client(fast=True, quirks="flowise-3.1")
    request = quirky.post(f"/prediction/{uuid.uuid4()}", data={"question": "hi", "streaming": "true"},
                          files={"files": ("notes.txt", b"some notes", "text/plain")})
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(request, timeout=1.0)
    answered = await quirky.post(f"/prediction/{uuid.uuid4()}", data={"question": "hi"},
                                 files={"files": ("notes.txt", b"some notes", "text/plain")})
    assert answered.status_code == 404


async def test_unknown_variable_update_is_a_text_404_under_quirks(make_client: Any, admin_headers: dict[str, str],
                                                                 expect_error: Any) -> None:
    missing = f"/variables/{uuid.uuid4()}"
    expect_error(await make_client().put(missing, json={"name": "x"}, headers=admin_headers), 404)
    r = await make_client(quirks="flowise-3.1").put(missing, json={"name": "x"}, headers=admin_headers)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert r.text == "Variable not found in the database"


def test_handlers_take_quirks_from_the_spec_only() -> None:
    """A deviation is written down once, in the spec's x-flowise-upstream notes: handlers ask
    ``quirks.active(call, id)`` and never read the setting themselves."""
    root = Path(__file__).resolve().parents[2] / "mockserver"
    allowed = {root / "quirks.py", root / "settings.py", root / "app.py"}
    readers = [str(p.relative_to(root)) for p in root.rglob("*.py") if p not in allowed and "quirks_on" in p.read_text()]
    assert readers == []


async def test_a_provider_assistant_fails_under_quirks_as_flowise_without_its_provider(
        make_client: Any, admin_headers: dict[str, str]) -> None:
    quirky = make_client(quirks="flowise-3.1")
    body = {"details": '{"name": "a"}', "credential": "00000000-0000-4000-8000-000000000001"}
    refused = await quirky.post("/assistants", json=body, headers=admin_headers)
    assert refused.status_code == 500 and "Error creating new assistant" in refused.json()["message"]
    custom = await quirky.post("/assistants", json={**body, "type": "CUSTOM"}, headers=admin_headers)
    assert custom.status_code == 200
    plain = make_client()
    assert (await plain.post("/assistants", json=body, headers=admin_headers)).status_code == 200
