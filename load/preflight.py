"""Before any load: is the target a reachable Flowise, and can the chatflow answer?

Each failure becomes one line (`TargetUnusable`) so an operator sees "cannot reach ..." or "chatflow
... cannot answer ..." instead of a minute of failed requests. The check is `GET /api/v1/ping`, then
one prediction shaped like the profile's traffic: streamed when the profile streams (so a chatflow
that cannot stream, which Flowise answers with plain JSON, is caught here), plain otherwise.

Also owns the chatflow a run creates for itself on a target without `--chatflow-id`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from contract.sse import FrameParser
from load.errors import TargetUnusable

__all__ = ["Preflight"]

EMPTY_FLOW = json.dumps({"nodes": [], "edges": []})
RETRIEVAL_FLOW = json.dumps({
    "nodes": [
        {"id": "memoryVectorStore_0", "data": {"id": "memoryVectorStore_0", "name": "memoryVectorStore",
                                               "label": "In-Memory Vector Store", "category": "Vector Stores",
                                               "inputs": {"topK": "4"}}},
        {"id": "conversationalRetrievalQAChain_0",
         "data": {"id": "conversationalRetrievalQAChain_0", "name": "conversationalRetrievalQAChain",
                  "label": "Conversational Retrieval QA Chain", "category": "Chains",
                  "inputs": {"returnSourceDocuments": True}}},
    ],
    "edges": [{"source": "memoryVectorStore_0", "target": "conversationalRetrievalQAChain_0"}],
})
"""A vector store feeding a retrieval chain that returns its sources: what the RAG users need to upsert
into and retrieve from. The mock reads behaviour from these nodes; a real Flowise would also need an
LLM and embeddings configured, which is why real targets are loaded with `--chatflow-id`."""


def _describe(response: httpx.Response) -> str:
    text = response.text[:200]
    try:
        body = response.json()
        text = str(body.get("message") or body.get("error") or text)
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}: {text.strip()}" if text.strip() else f"HTTP {response.status_code}"


@dataclass
class Preflight:
    base_url: str
    api_key: str = ""
    timeout_s: float = 60.0

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout_s)

    def ping(self) -> None:
        try:
            with self.client() as client:
                response = client.get("/api/v1/ping", timeout=10.0)
        except httpx.HTTPError as exc:
            raise TargetUnusable(f"cannot reach {self.base_url}: {_reason(exc)}") from exc
        if response.status_code != 200:
            raise TargetUnusable(f"{self.base_url} is not a usable Flowise: GET /api/v1/ping answered {_describe(response)}")

    def create_chatflow(self, name: str, *, retrieval: bool = False) -> str:
        body = {"name": name, "type": "CHATFLOW", "flowData": RETRIEVAL_FLOW if retrieval else EMPTY_FLOW}
        try:
            with self.client() as client:
                response = client.post("/api/v1/chatflows", json=body)
        except httpx.HTTPError as exc:
            raise TargetUnusable(f"cannot create chatflow {name!r} on {self.base_url}: {_reason(exc)}") from exc
        try:
            flow_id = response.json()["id"] if response.status_code == 200 else None
        except (ValueError, KeyError, TypeError):
            flow_id = None
        if not flow_id:
            raise TargetUnusable(f"cannot create chatflow {name!r} on {self.base_url}: {_describe(response)}")
        return str(flow_id)

    def delete_chatflow(self, chatflow_id: str) -> str | None:
        """Delete a chatflow this run created; returns a warning instead of raising (cleanup must not mask results)."""
        try:
            with self.client() as client:
                response = client.delete(f"/api/v1/chatflows/{chatflow_id}")
        except httpx.HTTPError as exc:
            return f"could not delete chatflow {chatflow_id}: {_reason(exc)}"
        if response.status_code != 200:
            return f"could not delete chatflow {chatflow_id}: {_describe(response)}"
        return None

    def predict(self, chatflow_id: str, *, streaming: bool) -> None:
        """Send one prediction; raise unless it answers with text (or, streaming, with a token and `end`)."""
        path = f"/api/v1/prediction/{chatflow_id}"
        body = {"question": "flowise-load preflight: reply with anything", "streaming": streaming}
        prefix = f"chatflow {chatflow_id} cannot answer"
        try:
            with self.client() as client:
                if streaming:
                    with client.stream("POST", path, json=body) as response:
                        _check_stream(response, prefix)
                else:
                    response = client.post(path, json=body)
                    if response.status_code != 200:
                        raise TargetUnusable(f"{prefix}: {_describe(response)}")
                    try:
                        answer = response.json()
                    except ValueError as exc:
                        raise TargetUnusable(f"{prefix}: the answer is not JSON") from exc
                    if not isinstance(answer, dict) or ("text" not in answer and "json" not in answer):
                        raise TargetUnusable(f"{prefix}: the answer has no text")
        except httpx.HTTPError as exc:
            raise TargetUnusable(f"{prefix}: {_reason(exc)}") from exc


def _check_stream(response: httpx.Response, prefix: str) -> None:
    if response.status_code != 200:
        response.read()
        raise TargetUnusable(f"{prefix}: {_describe(response)}")
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" not in content_type:
        raise TargetUnusable(f"{prefix} as a stream: it answered {content_type or 'no content type'} "
                             "(is streaming enabled for this chatflow?)")
    parser = FrameParser()
    tokens = 0
    for chunk in response.iter_raw():
        for frame in parser.feed(chunk):
            if frame.event == "token":
                tokens += 1
            elif frame.event == "error":
                raise TargetUnusable(f"{prefix}: the stream reported an error: {frame.data}")
            elif frame.event == "end":
                if not tokens:
                    raise TargetUnusable(f"{prefix}: the stream ended without a token")
                return
    raise TargetUnusable(f"{prefix}: the stream closed before its `end` event")


def _reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})" if str(exc) else "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"
