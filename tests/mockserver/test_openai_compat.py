"""The OpenAI-compatible endpoints: shapes, streaming chunks, errors, and agreement with chatflow answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

ADMIN = {"Authorization": "Bearer test-admin-key"}
MEMORY_FLOW = {"nodes": [{"id": "bufferMemory_0", "data": {"id": "bufferMemory_0", "name": "bufferMemory",
                                                            "label": "Buffer Memory", "category": "Memory",
                                                            "inputs": {}}}], "edges": []}


@pytest.fixture
def mock(make_client: Callable[..., httpx.AsyncClient]) -> httpx.AsyncClient:
    client = make_client(fast=True)
    client.base_url = httpx.URL("http://testserver")
    return client


def chat(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": messages, **extra}


async def test_models_and_completion_shape(mock: httpx.AsyncClient) -> None:
    models = (await mock.get("/v1/models")).json()
    assert models["object"] == "list" and any(m["id"] == "gpt-4o-mini" for m in models["data"])
    body = (await mock.post("/v1/chat/completions", json=chat([{"role": "system", "content": "Be nice."},
                                                              {"role": "user", "content": "hi"}]))).json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith('You asked: "hi".')
    assert body["usage"]["completion_tokens"] == len(choice["message"]["content"].split())


async def test_streamed_chunks_usage_and_done(mock: httpx.AsyncClient) -> None:
    response = await mock.post("/v1/chat/completions", json=chat(
        [{"role": "user", "content": "stream it"}], stream=True, stream_options={"include_usage": True}))
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = [line for line in response.text.split("\n\n") if line]
    assert lines[-1] == "data: [DONE]" and all(line.startswith("data: ") for line in lines)
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text.startswith('You asked: "stream it".')
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == len(text.split())


async def test_same_question_and_history_as_a_chatflow_gives_the_same_text(mock: httpx.AsyncClient) -> None:
    created = await mock.post("/api/v1/chatflows", json={"name": "m", "flowData": json.dumps(MEMORY_FLOW),
                                                         "type": "CHATFLOW"}, headers=ADMIN)
    flow_id = created.json()["id"]
    first = (await mock.post(f"/api/v1/prediction/{flow_id}", json={"question": "my name is Ada", "chatId": "x"})).json()
    second = (await mock.post(f"/api/v1/prediction/{flow_id}", json={"question": "what is my name?",
                                                                     "chatId": "x"})).json()
    completion = (await mock.post("/v1/chat/completions", json=chat([
        {"role": "system", "content": "You are a test assistant."},
        {"role": "user", "content": "my name is Ada"},
        {"role": "assistant", "content": first["text"]},
        {"role": "user", "content": "what is my name?"}]))).json()
    assert completion["choices"][0]["message"]["content"] == second["text"]


async def test_errors_are_openai_shaped(mock: httpx.AsyncClient) -> None:
    forced = await mock.post("/v1/chat/completions", json={"model": "error-429", "messages": [{"role": "user",
                                                                                             "content": "x"}]})
    assert forced.status_code == 429 and forced.json()["error"]["type"] == "rate_limit_error"
    bad = await mock.post("/v1/chat/completions", json={"model": "m", "messages": []})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "messages"
    injected = await mock.post("/v1/chat/completions", json=chat([{"role": "user", "content": "x"}]),
                               headers={"X-Mock-Error": "503"})
    assert injected.status_code == 503 and injected.json()["error"]["type"] == "server_error"
    limited = (await mock.post("/v1/chat/completions", json=chat([{"role": "user", "content": "x"}], max_tokens=2))).json()
    assert limited["choices"][0]["finish_reason"] == "length" and limited["usage"]["completion_tokens"] == 2


async def test_embeddings_are_unit_vectors(mock: httpx.AsyncClient) -> None:
    body = (await mock.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["a b", "c"]})).json()
    assert [d["index"] for d in body["data"]] == [0, 1]
    vector = body["data"][0]["embedding"]
    assert len(vector) == 256 and abs(sum(v * v for v in vector) - 1) < 1e-6
