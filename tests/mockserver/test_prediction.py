"""``POST /prediction/{id}`` over HTTP (in-process, strict): answers, memory, agentflows, errors, storage."""

from __future__ import annotations

import base64
import functools
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from mockserver.errors import FlowiseError
from mockserver.operations import Call
from mockserver.resources.prediction import create_prediction
from mockserver.settings import MockSettings
from mockserver.spec import Spec, load_spec
from mockserver.state import MockState
from mockserver.store import vectors
from mockserver.store.db import Database

ADMIN = {"Authorization": "Bearer test-admin-key"}
DIRECT_REPLY = {"nodes": [
    {"id": "startAgentflow_0", "data": {"id": "startAgentflow_0", "label": "Start", "name": "startAgentflow",
                                        "category": "Agent Flows", "inputs": {"startInputType": "chatInput"}}},
    {"id": "directReplyAgentflow_0", "data": {"id": "directReplyAgentflow_0", "label": "Direct Reply To Chat",
                                              "name": "directReplyAgentflow", "category": "Agent Flows",
                                              "inputs": {"directReplyMessage": "Echo: {{ question }}"}}}],
    "edges": [{"source": "startAgentflow_0", "target": "directReplyAgentflow_0"}]}
LLM_AGENTFLOW = {"nodes": [
    DIRECT_REPLY["nodes"][0],
    {"id": "llmAgentflow_0", "data": {"id": "llmAgentflow_0", "label": "LLM", "name": "llmAgentflow",
                                      "category": "Agent Flows",
                                      "inputs": {"llmEnableMemory": True,
                                                 "llmMessages": [{"role": "system", "content": "Be brief."}]}}}],
    "edges": [{"source": "startAgentflow_0", "target": "llmAgentflow_0"}]}


def node(node_id: str, name: str, category: str, label: str | None = None, **inputs: Any) -> dict[str, Any]:
    return {"id": node_id, "data": {"id": node_id, "name": name, "label": label or name, "category": category,
                                    "inputs": inputs, "outputs": {}, "inputParams": [], "inputAnchors": []}}


MEMORY_FLOW = {"nodes": [node("chatOpenAI_0", "chatOpenAI", "Chat Models", "ChatOpenAI"),
                         node("bufferMemory_0", "bufferMemory", "Memory", "Buffer Memory", sessionId=""),
                         node("conversationChain_0", "conversationChain", "Chains", "Conversation Chain")],
               "edges": [{"source": "chatOpenAI_0", "target": "conversationChain_0"},
                         {"source": "bufferMemory_0", "target": "conversationChain_0"}]}
RAG_FLOW = {"nodes": [node("plainText_0", "plainText", "Document Loaders", "Plain Text",
                           text="Paris is the capital of France.\n\nThe Moon orbits the Earth.", metadata=""),
                      node("memoryVectorStore_0", "memoryVectorStore", "Vector Stores", "In-Memory Vector Store",
                           topK="1"),
                      node("calculator_0", "calculator", "Tools", "Calculator"),
                      node("chain_0", "conversationalRetrievalQAChain", "Chains", "QA Chain",
                           returnSourceDocuments=True)],
            "edges": [{"source": "plainText_0", "target": "memoryVectorStore_0"},
                      {"source": "memoryVectorStore_0", "target": "chain_0"}]}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    return make_client(fast=True)


async def create_flow(client: httpx.AsyncClient, flow: dict[str, Any], kind: str = "CHATFLOW", **extra: Any) -> str:
    response = await client.post("/chatflows", json={"name": "t", "flowData": json.dumps(flow), "type": kind, **extra},
                                 headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def events(body: str) -> list[dict[str, Any]]:
    frames = [f for f in body.split("\n\n") if f]
    assert all(f.startswith("message:\ndata:") for f in frames), frames
    return [json.loads(f[len("message:\ndata:"):]) for f in frames]


async def messages(client: httpx.AsyncClient, flow_id: str, **query: str) -> list[dict[str, Any]]:
    response = await client.get(f"/chatmessage/{flow_id}", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


async def test_empty_flow_answers_plainly_with_flowise_keys(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, {"nodes": [], "edges": []})
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "hi", "sessionId": "ignored"})
    body = response.json()
    assert list(body) == ["text", "question", "chatId", "chatMessageId", "isStreamValid", "sessionId"]
    assert body["text"].startswith('You asked: "hi".') and body["isStreamValid"] is False
    assert body["sessionId"] == body["chatId"] != "ignored"
    again = await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})
    assert again.json()["text"] == body["text"]  # deterministic


async def test_memory_flow_remembers_per_session(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, MEMORY_FLOW)
    first = (await mock.post(f"/prediction/{flow_id}",
                             json={"question": "Hello, my name is Ada", "overrideConfig": {"sessionId": "sess-A"}})).json()
    assert (first["chatId"], first["sessionId"], first["memoryType"]) == ("sess-A", "sess-A", "Buffer Memory")
    assert list(first)[-1] == "memoryType"
    second = (await mock.post(f"/prediction/{flow_id}", json={"question": "What is my name?", "chatId": "sess-A"})).json()
    assert "Your name is Ada." in second["text"]
    other = (await mock.post(f"/prediction/{flow_id}", json={"question": "What is my name?", "chatId": "sess-B"})).json()
    assert "Ada" not in other["text"]
    prepended = (await mock.post(f"/prediction/{flow_id}", json={
        "question": "What is my name?", "history": [{"role": "userMessage", "content": "my name is Brian"}]})).json()
    assert "Your name is Brian." in prepended["text"]
    stored = await messages(mock, flow_id, chatId="sess-A")
    assert [m["role"] for m in stored] == ["userMessage", "apiMessage"] * 2
    assert stored[3]["id"] == second["chatMessageId"] and stored[3]["content"] == second["text"]
    assert {m["memoryType"] for m in stored} == {"Buffer Memory"} and {m["chatType"] for m in stored} == {"EXTERNAL"}


async def test_streaming_chatflow_event_order(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, MEMORY_FLOW)
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "stream please", "streaming": "true"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache" and response.headers["x-accel-buffering"] == "no"
    stream = events(response.text)
    names = [e["event"] for e in stream]
    assert names[0] == "start" and stream[0]["data"] == "" and names[-2:] == ["metadata", "end"]
    assert set(names[1:-2]) == {"token"}
    text = "".join(e["data"] for e in stream if e["event"] == "token")
    meta = stream[-2]["data"]
    assert list(meta) == ["chatId", "chatMessageId", "question", "sessionId", "memoryType"]
    stored = await messages(mock, flow_id)
    assert stored[-1]["content"] == text and stored[-1]["id"] == meta["chatMessageId"]


async def test_agentflow_direct_reply_echoes(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, DIRECT_REPLY, "AGENTFLOW")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "hi"})).json()
    assert list(body) == ["text", "question", "chatId", "chatMessageId", "executionId", "agentFlowExecutedData",
                          "sessionId"]
    assert body["text"] == "Echo: hi"
    assert [n["status"] for n in body["agentFlowExecutedData"]] == ["FINISHED", "FINISHED"]
    assert body["agentFlowExecutedData"][1]["data"]["output"] == {"content": "Echo: hi"}
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "yo", "streaming": True})).text)
    assert [e["event"] for e in stream] == [
        "agentFlowEvent", "nextAgentFlow", "nextAgentFlow", "agentFlowExecutedData", "nextAgentFlow", "token",
        "nextAgentFlow", "agentFlowExecutedData", "agentFlowEvent", "metadata", "end"]
    assert stream[5]["data"] == "Echo: yo" and stream[8]["data"] == "FINISHED"
    stored = await messages(mock, flow_id)
    assert stored[-1]["execution"]["state"] == "FINISHED" and stored[-1]["executionId"] == stored[-1]["execution"]["id"]


async def test_agentflow_llm_node_uses_memory_and_streams_usage(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, LLM_AGENTFLOW, "AGENTFLOW")
    await mock.post(f"/prediction/{flow_id}", json={"question": "my city is Lyon", "chatId": "c1"})
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "what is my city?", "chatId": "c1"})).json()
    assert "Your city is Lyon." in body["text"]
    stream = events((await mock.post(f"/prediction/{flow_id}", json={"question": "x", "streaming": True})).text)
    names = [e["event"] for e in stream]
    assert names.index("calledTools") < names.index("usageMetadata") < names.index("agentFlowEvent", 1)


async def test_retrieval_tools_and_follow_ups(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, RAG_FLOW, followUpPrompts=json.dumps({"status": True}))
    upsert = (await mock.post(f"/vector/upsert/{flow_id}", json={}, headers=ADMIN)).json()
    assert upsert["numAdded"] == 1 and upsert["addedDocs"][0]["pageContent"].startswith("Paris")
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "What is the capital of France? 2+2"})).json()
    assert list(body)[:4] == ["text", "sourceDocuments", "usedTools", "question"]
    assert body["sourceDocuments"][0]["pageContent"].startswith("Paris")
    assert body["usedTools"] == [{"tool": "calculator", "toolInput": {"input": "What is the capital of France? 2+2"},
                                  "toolOutput": "4"}]
    assert "Paris is the capital of France." in body["text"] and "returned: 4" in body["text"]
    prompts = json.loads(json.loads(body["followUpPrompts"]))  # double-encoded, as Flowise sends it
    assert len(prompts) == 3
    stream = events((await mock.post(f"/prediction/{flow_id}",
                                     json={"question": "capital of France?", "streaming": True})).text)
    names = [e["event"] for e in stream]
    assert names[-4:] == ["sourceDocuments", "usedTools", "metadata", "end"]
    assert isinstance(stream[-2]["data"]["followUpPrompts"], str)  # single-encoded in the metadata event
    assert len(json.loads(stream[-2]["data"]["followUpPrompts"])) == 3
    stored = await messages(mock, flow_id)
    assert stored[1]["sourceDocuments"][0]["metadata"]["loc"] == {"lines": {"from": 1, "to": 3}}
    assert isinstance(stored[1]["followUpPrompts"], str)


async def test_override_config_is_gated_by_api_config(mock: httpx.AsyncClient) -> None:
    gated = await create_flow(mock, RAG_FLOW)
    opened = await create_flow(mock, RAG_FLOW, apiConfig=json.dumps({"overrideConfig": {"status": True}}))
    for flow_id in (gated, opened):
        await mock.post(f"/vector/upsert/{flow_id}", json={}, headers=ADMIN)
    ask = {"question": "Moon?", "overrideConfig": {"returnSourceDocuments": False, "vars": {"tone": "dry"}}}
    assert "sourceDocuments" in (await mock.post(f"/prediction/{gated}", json=ask)).json()
    body = (await mock.post(f"/prediction/{opened}", json=ask)).json()
    assert "sourceDocuments" not in body and "Variables: tone=dry." in body["text"]


@pytest.mark.parametrize(("payload", "status", "fragment"), [
    ({"question": "x", "chatId": 5}, 400, "chatId"),
    ({"question": "x", "history": [{"role": "robot", "content": "x"}]}, 400, "role"),
    ({"question": "x", "uploads": [{"type": "file", "name": "a.png", "mime": "image/png",
                                    "data": "data:image/png;base64,@@@"}]}, 400, "base64"),
    ({"question": "x", "uploads": [{"type": "file", "name": "a.png", "mime": "image/png", "data": "aGk="}]}, 400,
     "uploads/0"),
    ({"question": "x", "uploads": [{"type": "url", "name": "u", "mime": "image/png", "data": "ftp://x"}]}, 400, "url"),
    ({}, 400, None),
])
async def test_bad_input_is_a_4xx_and_stores_nothing(mock: httpx.AsyncClient, expect_error: Callable[..., str],
                                                     payload: dict[str, Any], status: int, fragment: str | None) -> None:
    flow_id = await create_flow(mock, MEMORY_FLOW)
    for streaming in (False, True):
        response = await mock.post(f"/prediction/{flow_id}", json={**payload, "streaming": streaming}
                                   if payload else payload)
        message = expect_error(response, status)
        assert fragment is None or fragment in message
    assert await messages(mock, flow_id) == []


async def test_non_string_session_and_oversized_upload(make_client: Callable[..., httpx.AsyncClient],
                                                       expect_error: Callable[..., str]) -> None:
    mock = make_client(fast=True, file_size_limit="600b")
    flow_id = await create_flow(mock, {"nodes": [], "edges": []})
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "x", "overrideConfig": {"sessionId": 1}})
    assert expect_error(response, 400).startswith("Invalid")
    big = "data:text/plain;base64," + base64.b64encode(b"x" * 400).decode()
    response = await mock.post(f"/prediction/{flow_id}", json={
        "question": "x", "uploads": [{"type": "file", "name": "big.txt", "mime": "text/plain", "data": big}]})
    assert "too large" in expect_error(response, 413)


async def test_unknown_and_invalid_ids(mock: httpx.AsyncClient, expect_error: Callable[..., str]) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    expect_error(await mock.post(f"/prediction/{missing}", json={"question": "x"}), 404,
                 f"Chatflow {missing} not found in the database!")
    assert (await mock.post("/prediction/not-a-uuid", json={"question": "x"})).status_code == 400


async def test_uploads_are_stored_and_described(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, {"nodes": [], "edges": []})
    png = "data:image/png;base64," + base64.b64encode(b"\x89PNG fake").decode()
    body = (await mock.post(f"/prediction/{flow_id}", json={
        "question": "What do you see?", "leadEmail": "a@b.c",
        "uploads": [{"type": "file", "name": "cat.png", "mime": "image/png", "data": png},
                    {"type": "file:full", "name": "notes.txt", "mime": "text/plain", "data": "alpha beta gamma"}]})).json()
    assert 'You sent an image, "cat.png".' in body["text"] and '"notes.txt" (3 words)' in body["text"]
    user = (await messages(mock, flow_id))[0]
    assert user["leadEmail"] == "a@b.c" and user["content"] == "What do you see?"
    assert user["fileUploads"] == [{"type": "stored-file", "name": "cat.png", "mime": "image/png"},
                                   {"type": "stored-file:full", "name": "notes.txt", "mime": "text/plain"}]


async def test_multipart_prediction_with_a_file(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, {"nodes": [], "edges": []})
    response = await mock.post(f"/prediction/{flow_id}", data={"question": "summarise", "chatId": "m1"},
                               files={"files": ("notes.txt", b"one two three four", "text/plain")})
    body = response.json()
    assert response.status_code == 200 and body["chatId"] == "m1"
    assert '"notes.txt" (4 words)' in body["text"]


@functools.lru_cache(maxsize=1)
def _spec() -> Spec:
    return load_spec()


def direct_call(tmp_path: Any, body: Any, flow: dict[str, Any], kind: str = "CHATFLOW", **settings: Any) -> Call:
    """A ``Call`` built by hand: the handler alone, without the spec's request validation in front of it."""
    db = Database(":memory:")
    state = MockState(settings=MockSettings(db=":memory:", fast=True, data_dir=str(tmp_path), **settings), db=db,
                      spec=_spec(), workspace_id="ws")
    flow_id = "11111111-2222-3333-4444-555555555555"
    db.insert("chat_flow", {"id": flow_id, "name": "t", "flowData": json.dumps(flow), "type": kind,
                            "workspaceId": "ws", "createdDate": "2026-01-01T00:00:00.000Z",
                            "updatedDate": "2026-01-01T00:00:00.000Z"})
    request = Request({"type": "http", "method": "POST", "path": f"/api/v1/prediction/{flow_id}", "headers": [],
                       "query_string": b""})
    return Call("createPrediction", request, state, {"id": flow_id}, {}, body)


async def test_missing_question_is_accepted_under_quirks(tmp_path: Any) -> None:
    with pytest.raises(FlowiseError) as refused:
        await create_prediction(direct_call(tmp_path, {}, {"nodes": [], "edges": []}))
    assert refused.value.status == 400
    body = await create_prediction(direct_call(tmp_path, {}, {"nodes": [], "edges": []}, quirks="flowise-3.1"))
    assert "question" not in body and body["text"].startswith('You asked: "undefined".')
    agent = await create_prediction(direct_call(tmp_path, {}, DIRECT_REPLY, "AGENTFLOW", quirks="flowise-3.1"))
    assert agent["text"] == "Echo: " and "question" not in agent


async def bound_flow(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    keys = (await client.post("/apikey", json={"keyName": "bound", "permissions": ["chatflows:view"]},
                              headers=ADMIN)).json()
    key = next(k for k in keys if k["keyName"] == "bound")
    flow_id = await create_flow(client, DIRECT_REPLY, "AGENTFLOW")
    await client.put(f"/chatflows/{flow_id}", json={"apikeyid": key["id"]}, headers=ADMIN)
    return flow_id, {"Authorization": f"Bearer {key['apiKey']}"}


async def test_chatflow_key_by_contract_and_under_quirks(make_client: Callable[..., httpx.AsyncClient]) -> None:
    strict = make_client(fast=True)
    flow_id, headers = await bound_flow(strict)
    refused = await strict.post(f"/prediction/{flow_id}", json={"question": "x", "streaming": True})
    assert refused.status_code == 401 and refused.json() == {"error": "Unauthorized Access"}
    assert (await strict.post(f"/prediction/{flow_id}", json={"question": "x"}, headers=headers)).status_code == 200
    quirky = make_client(fast=True, quirks="flowise-3.1")
    flow_id, _ = await bound_flow(quirky)
    plain = await quirky.post(f"/prediction/{flow_id}", json={"question": "x"})
    assert plain.status_code == 500 and plain.json()["message"] == "Error: predictionsServices.buildChatflow - Unauthorized"
    streamed = await quirky.post(f"/prediction/{flow_id}", json={"question": "x", "streaming": True})
    assert streamed.status_code == 200 and events(streamed.text) == [
        {"event": "error", "data": "Error: predictionsServices.buildChatflow - Unauthorized"},
        {"event": "end", "data": "[DONE]"}]


async def test_mock_error_header_json_and_stream(mock: httpx.AsyncClient, expect_error: Callable[..., str],
                                                 make_client: Callable[..., httpx.AsyncClient]) -> None:
    lax = make_client(fast=True, strict=False)  # strict mode refuses statuses the spec does not list
    lax_flow = await create_flow(lax, MEMORY_FLOW)
    expect_error(await lax.post(f"/prediction/{lax_flow}", json={"question": "x"}, headers={"X-Mock-Error": "503"}),
                 503)
    flow_id = await create_flow(mock, MEMORY_FLOW)
    failed = await mock.post(f"/prediction/{flow_id}", json={"question": "x"}, headers={"X-Mock-Error": "500"})
    assert "X-Mock-Error" in expect_error(failed, 500)
    streamed = await mock.post(f"/prediction/{flow_id}", json={"question": "x", "streaming": True},
                               headers={"X-Mock-Error": "500"})
    assert streamed.status_code == 200 and [e["event"] for e in events(streamed.text)] == ["error", "end"]
    expect_error(await mock.post(f"/prediction/{flow_id}", json={"question": "x"}, headers={"X-Mock-Delay": "soon"}),
                 400)
    assert await messages(mock, flow_id) == []


async def test_script_file_answers_and_fails(make_client: Callable[..., httpx.AsyncClient], tmp_path: Any,
                                             expect_error: Callable[..., str]) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("- contains: refund\n  answer: 'Refunds take 5 days.'\n"
                      "  sourceDocuments: [{pageContent: 'Policy', metadata: {source: policy.pdf}}]\n"
                      "- regex: '^boom'\n  error: {status: 500, message: upstream down}\n", encoding="utf-8")
    mock = make_client(fast=True, script_file=str(script))
    flow_id = await create_flow(mock, {"nodes": [], "edges": []})
    body = (await mock.post(f"/prediction/{flow_id}", json={"question": "About my refund"})).json()
    assert body["text"] == "Refunds take 5 days." and body["sourceDocuments"][0]["metadata"]["source"] == "policy.pdf"
    expect_error(await mock.post(f"/prediction/{flow_id}", json={"question": "boom now"}), 500,
                 "Error: predictionsServices.buildChatflow - upstream down")


async def test_document_store_node_retrieves_from_the_store(tmp_path: Any) -> None:
    flow = {"nodes": [node("documentStoreVS_0", "documentStoreVS", "Vector Stores", selectedStore="store-1"),
                      node("chain_0", "conversationalRetrievalQAChain", "Chains", returnSourceDocuments="true")],
            "edges": [{"source": "documentStoreVS_0", "target": "chain_0"}]}
    call = direct_call(tmp_path, {"question": "Which planet has rings?"}, flow)
    vectors.add_documents(call.db, "store-1", [{"pageContent": "Saturn has rings.", "metadata": {"source": "astro"}},
                                               {"pageContent": "Mars is red.", "metadata": {"source": "astro"}}])
    body = await create_prediction(call)
    assert body["sourceDocuments"][0] == {"pageContent": "Saturn has rings.", "metadata": {"source": "astro"}}
    assert 'According to astro [1]: "Saturn has rings."' in body["text"]


async def test_delay_header_waits_before_answering(mock: httpx.AsyncClient) -> None:
    flow_id = await create_flow(mock, {"nodes": [], "edges": []})
    started = time.perf_counter()
    response = await mock.post(f"/prediction/{flow_id}", json={"question": "x"}, headers={"X-Mock-Delay": "150"})
    assert response.status_code == 200 and time.perf_counter() - started >= 0.15
