"""``--quirks flowise-3.0`` and ``--quirks flowise-2.2``: each release line reproduces the spec notes that
hold for it (a note's ``versions``), and the notes without ``versions`` on every line."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from mockserver import create_app
from mockserver.settings import KNOWN_QUIRKS
from mockserver.spec import Spec
from tests.mockserver.conftest import asgi_client, create_key, mock_settings

FLOW = {"name": "q", "type": "CHATFLOW", "flowData": '{"nodes":[],"edges":[]}'}


def test_every_supported_line_has_a_quirks_set() -> None:
    assert KNOWN_QUIRKS == ("flowise-3.1", "flowise-3.0", "flowise-2.2")
    assert [mock_settings(quirks=name).quirks_line for name in KNOWN_QUIRKS] == ["3.1", "3.0", "2.2"]
    assert mock_settings().quirks_line is None
    with pytest.raises(ValidationError, match="unknown quirks set 'flowise-2.1'"):
        mock_settings(quirks="flowise-2.1")


def test_a_note_holds_on_the_lines_it_names(spec: Spec) -> None:
    document = copy.deepcopy(spec.document)
    note = {"id": "missing-question-accepted", "behaviour": "x", "reference": "y", "versions": ["3.1"]}
    document["paths"]["/prediction/{id}"]["post"]["x-flowise-upstream"] = [note]
    op = Spec(document).operations["createPrediction"]
    assert op.upstream_ids_for("3.1") == {"missing-question-accepted"}
    assert op.upstream_ids_for("2.2") == set()
    assert op.upstream_ids_for(None) == {"missing-question-accepted"}  # every note, whatever its lines


@pytest.mark.parametrize(("quirks", "tagged", "status"), [
    ("flowise-3.1", ["3.1"], 200),   # the note names the line: reproduced
    ("flowise-2.2", ["3.1"], 400),   # it does not: the contract holds
    ("flowise-2.2", None, 200),      # no versions: every line
    ("flowise-3.0", ["3.0", "2.2"], 200),
])
async def test_quirks_follow_the_notes_versions(spec: Spec, admin_headers: dict[str, str], quirks: str,
                                                tagged: list[str] | None, status: int) -> None:
    document = copy.deepcopy(spec.document)
    notes = document["paths"]["/prediction/{id}"]["post"]["x-flowise-upstream"]
    for note in notes:
        if note["id"] == "missing-question-accepted":
            if tagged is None:
                note.pop("versions", None)
            else:
                note["versions"] = tagged
    app: Any = create_app(mock_settings(fast=True, quirks=quirks), spec=Spec(document))
    async with asgi_client(app) as client:
        flow = (await client.post("/chatflows", headers=admin_headers, json=FLOW)).json()["id"]
        answer = await client.post(f"/prediction/{flow}", json={})
    assert answer.status_code == status, answer.text


GATE = {"error": "Unauthorized Access"}
LEAD_FLOW = "3a1c0b0e-8c39-4d2b-9d6e-0d1f0f0f0f0f"


async def test_each_line_reproduces_what_its_release_was_seen_doing(
        make_client: Any, admin_headers: dict[str, str], expect_error: Any) -> None:
    """Seen on Flowise 3.0.13 by the reference harness: a leads list with a key answers (3.1's
    workspace 404 is 3.1's), and an unknown document store is a double-wrapped 500 (3.1: 404)."""
    missing = "/document-store/store/00000000-0000-0000-0000-000000000000"
    by_line = {quirks: make_client(fast=True, quirks=quirks) for quirks in ("flowise-3.1", "flowise-3.0")}
    expect_error(await by_line["flowise-3.1"].get(f"/leads/{LEAD_FLOW}", headers=admin_headers), 404)
    listed = await by_line["flowise-3.0"].get(f"/leads/{LEAD_FLOW}", headers=admin_headers)
    assert listed.status_code == 200 and listed.json() == []
    expect_error(await by_line["flowise-3.1"].get(missing, headers=admin_headers), 404)
    message = expect_error(await by_line["flowise-3.0"].get(missing, headers=admin_headers), 500)
    assert message.startswith("Error: documentStoreServices.getDocumentStoreById - Error: documentStoreServices.")
    expect_error(await by_line["flowise-3.0"].put(missing, headers=admin_headers, json={"description": "x"}), 500)


@pytest.mark.parametrize(("quirks", "has_later_fields"), [
    (None, True), ("flowise-3.1", True), ("flowise-3.0", False), ("flowise-2.2", False)])
async def test_an_older_line_answers_without_the_fields_added_later(
        make_client: Any, admin_headers: dict[str, str], quirks: str | None, has_later_fields: bool) -> None:
    client = make_client(fast=True, quirks=quirks)
    created = (await client.post("/chatflows", headers=admin_headers, json=FLOW)).json()
    listed = (await client.get("/chatflows", headers=admin_headers)).json()
    for chatflow in (created, listed[0]):
        assert ("mcpServerConfig" in chatflow) is has_later_fields, chatflow
        assert ("webhookSecretConfigured" in chatflow) is has_later_fields
        assert "flowData" in chatflow and "deployed" in chatflow  # everything else stays
    assert ("webhookSecret" in created) is has_later_fields


def test_shape_leaves_out_only_what_the_line_lacks() -> None:
    from mockserver.versions import shape

    message = {"id": "m", "role": "apiMessage", "chatflowid": "f", "content": "hi", "reasonContent": None,
               "action": "{}"}
    stopped = {"text": "Send?", "question": "hi", "chatMessageId": "m", "agentFlowExecutedData": [], "action": {}}
    older, newest = mock_settings(quirks="flowise-3.0"), mock_settings(quirks="flowise-3.1")
    assert shape(older, [message]) == [{k: v for k, v in message.items() if k != "reasonContent"}]
    assert "action" not in shape(older, stopped) and shape(newest, stopped) == stopped
    assert shape(mock_settings(), [message]) == [message]
    assert shape(older, {"unrelated": 1, "action": 2}) == {"unrelated": 1, "action": 2}
    # nested: the executions list joins each execution's agentflow, a chatflow of 3.1's shape
    agentflow = {"id": "f", "flowData": "{}", "deployed": False, "mcpServerConfig": None,
                 "webhookSecretConfigured": False}
    listed = {"data": [{"id": "e", "state": "FINISHED", "agentflow": agentflow}], "total": 1}
    assert shape(older, listed) == {"data": [{"id": "e", "state": "FINISHED",
                                              "agentflow": {"id": "f", "flowData": "{}", "deployed": False}}],
                                    "total": 1}
    assert shape(newest, listed) == listed


async def test_on_22_keys_grant_everything_and_the_public_list_is_its_own(
        make_client: Any, expect_error: Any) -> None:
    """2.2.8 (reference harness): a view-only key may create (no 403), metrics need no key, entities
    carry no workspaceId; 3.1's public chat abort needs a key on 3.0 and 2.2."""
    for quirks, forbidden in (("flowise-3.1", True), ("flowise-2.2", False)):
        client = make_client(fast=True, quirks=quirks)
        view = await create_key(client, "chatflows:view")
        created = await client.post("/chatflows", headers=view, json=FLOW)
        if forbidden:
            assert (created.status_code, created.json()) == (403, {"message": "Forbidden"})
        else:
            assert created.status_code == 200 and "workspaceId" not in created.json()
    abort = "/chatmessage/abort/00000000-0000-0000-0000-000000000000/chat"
    refused = await make_client(fast=True, quirks="flowise-3.0").put(abort)
    assert (refused.status_code, refused.json()) == (401, GATE)
    assert (await make_client(fast=True, quirks="flowise-3.1").put(abort)).status_code != 401
    assert (await make_client(fast=True, quirks="flowise-2.2").get("/metrics")).status_code == 200
    assert (await make_client(fast=True, quirks="flowise-3.0").get("/metrics")).status_code == 401


async def test_30_and_22_list_leads_to_anyone_and_end_streams_without_the_colon(
        make_client: Any, admin_headers: dict[str, str]) -> None:
    for quirks, old in (("flowise-3.1", False), ("flowise-3.0", True), ("flowise-2.2", True)):
        client = make_client(fast=True, quirks=quirks)
        flow = (await client.post("/chatflows", headers=admin_headers, json=FLOW)).json()["id"]
        await client.post("/leads", json={"chatflowid": flow, "chatId": "c", "email": "ada@example.com"})
        anonymous = await client.get(f"/leads/{flow}")
        if old:
            assert anonymous.status_code == 200 and [lead["email"] for lead in anonymous.json()] == ["ada@example.com"]
        else:
            assert anonymous.status_code in (401, 404)  # 3.1: refused (leads-get-workspace-404 with a key)
        streamed = await client.post(f"/prediction/{flow}", json={"question": "hi", "streaming": True})
        assert streamed.status_code == 200
        end = b'message\ndata:{"event":"end","data":"[DONE]"}' if old else b'message:\ndata:{"event":"end","data":"[DONE]"}'
        assert streamed.content.rstrip().endswith(end), streamed.content[-200:]
        assert streamed.content.count(b"message:\ndata:") == streamed.content.count(b"\n\n") - (1 if old else 0)


async def test_22_runs_no_agentflow(make_client: Any, admin_headers: dict[str, str], expect_error: Any) -> None:
    agentflow = {"name": "a", "type": "AGENTFLOW", "flowData": '{"nodes":[],"edges":[]}'}
    for quirks, refused in (("flowise-2.2", True), ("flowise-3.0", False)):
        client = make_client(fast=True, quirks=quirks)
        flow = (await client.post("/chatflows", headers=admin_headers, json=agentflow)).json()["id"]
        answer = await client.post(f"/prediction/{flow}", json={"question": "hi"})
        if refused:
            assert "Ending node must be either a Chain or Agent or Engine" in expect_error(answer, 500)
        else:
            assert answer.status_code != 500 or "Ending node" not in answer.text


async def test_22_keys_are_api_json_entries(make_client: Any, admin_headers: dict[str, str]) -> None:
    client = make_client(fast=True, quirks="flowise-2.2")
    created = await client.post("/apikey", headers=admin_headers, json={"keyName": "k"})  # no permissions: fine
    assert created.status_code == 200, created.text
    entry = next(item for item in created.json() if item["keyName"] == "k")
    assert list(entry) == ["keyName", "apiKey", "apiSecret", "createdAt", "id", "chatFlows"]
    missing = "00000000-0000-0000-0000-000000000000"
    renamed = {"keyName": "x", "permissions": ["chatflows:view"]}
    assert (await client.put(f"/apikey/{missing}", headers=admin_headers, json=renamed)).json() == []
    left = await client.delete(f"/apikey/{entry['id']}", headers=admin_headers)
    assert left.status_code == 200 and "k" not in [item["keyName"] for item in left.json()]
    newest = make_client(fast=True, quirks="flowise-3.1")
    refused = await newest.post("/apikey", headers=admin_headers, json={"keyName": "k"})
    assert refused.status_code == 412


async def test_30_checks_no_permission_on_an_execution_update(make_client: Any, expect_error: Any) -> None:
    """`executions-update-unguarded`: 3.0's route has no permission check, 3.1's wants `executions:update`."""
    unknown = "/executions/00000000-0000-0000-0000-000000000000"
    forbidden = {"message": "Forbidden"}
    for quirks in ("flowise-3.1", "flowise-3.0"):
        client = make_client(fast=True, quirks=quirks)
        viewer = await create_key(client, "chatflows:view")
        updated = await client.put(unknown, json={"isPublic": True}, headers=viewer)
        if quirks == "flowise-3.1":
            assert (updated.status_code, updated.json()) == (403, forbidden)
        else:  # past the missing check: the unknown id's wrapped 500 (missing-id-500)
            assert "not found" in expect_error(updated, 500)
        read = await client.get(unknown, headers=viewer)  # reading still needs executions:view
        assert (read.status_code, read.json()) == (403, forbidden)
