"""Streams over a real socket (uvicorn on 127.0.0.1): abort, cut connections, heartbeat, time to first token.

``httpx.ASGITransport`` gathers a whole body before returning, so anything about *when* bytes arrive or
how a connection ends needs a real server.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from mockserver import MockSettings

ADMIN = {"Authorization": "Bearer test-admin-key"}
START = {"id": "startAgentflow_0", "data": {"id": "startAgentflow_0", "label": "Start", "name": "startAgentflow",
                                            "category": "Agent Flows", "inputs": {}}}
LLM = {"id": "llmAgentflow_0", "data": {"id": "llmAgentflow_0", "label": "LLM", "name": "llmAgentflow",
                                        "category": "Agent Flows", "inputs": {}}}


@pytest.fixture(scope="module")
def base_url(serve_over_socket: Callable[[MockSettings], AbstractContextManager[str]]) -> Iterator[str]:
    settings = MockSettings(db=":memory:", api_key="test-admin-key", log_requests=False, ttft_ms=0, itl_ms=5,
                            answer_tokens=60, heartbeat_s=0.05)
    with serve_over_socket(settings) as root:
        yield f"{root}/api/v1"


def create_flow(client: httpx.Client, flow: dict[str, Any], kind: str = "CHATFLOW") -> str:
    response = client.post("/chatflows", json={"name": "s", "flowData": json.dumps(flow), "type": kind}, headers=ADMIN)
    return response.json()["id"]


def frames(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Events of a Flowise stream as they arrive; heartbeats come out as ``{"event": ":heartbeat"}``."""
    buffer = ""
    for text in response.iter_text():
        buffer += text
        while "\n\n" in buffer:
            frame, buffer = buffer.split("\n\n", 1)
            if frame == ":heartbeat":
                yield {"event": ":heartbeat"}
            else:
                yield json.loads(frame.split("data:", 1)[1])


def test_abort_stops_a_chatflow_stream_and_keeps_the_partial_answer(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        flow_id = create_flow(client, {"nodes": [], "edges": []})
        seen: list[dict[str, Any]] = []
        body = {"question": "long answer please", "chatId": "abort-me", "streaming": True}
        with client.stream("POST", f"/prediction/{flow_id}", json=body, headers={"X-Mock-ITL-Ms": "40"}) as response:
            for event in frames(response):
                seen.append(event)
                if sum(e["event"] == "token" for e in seen) == 3:
                    aborted = client.put(f"/chatmessage/abort/{flow_id}/abort-me")
                    assert aborted.json() == {"status": 200, "message": "Chat message aborted"}
        names = [e["event"] for e in seen if e["event"] != ":heartbeat"]
        assert names[-2:] == ["metadata", "end"] and names.count("token") < 10
        streamed = "".join(e["data"] for e in seen if e["event"] == "token")
        stored = client.get(f"/chatmessage/{flow_id}", headers=ADMIN).json()
        assert stored[-1]["content"] == streamed and stored[-1]["id"] == seen[-2]["data"]["chatMessageId"]


def test_abort_terminates_an_agentflow(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        flow_id = create_flow(client, {"nodes": [START, LLM], "edges": [{"source": "startAgentflow_0",
                                                                         "target": "llmAgentflow_0"}]}, "AGENTFLOW")
        seen: list[dict[str, Any]] = []
        body = {"question": "go", "chatId": "agent-abort", "streaming": True}
        with client.stream("POST", f"/prediction/{flow_id}", json=body, headers={"X-Mock-ITL-Ms": "40"}) as response:
            for event in frames(response):
                seen.append(event)
                if sum(e["event"] == "token" for e in seen) == 3:
                    client.put(f"/chatmessage/abort/{flow_id}/agent-abort")
        tail = [e for e in seen if e["event"] != ":heartbeat"][-5:]
        assert tail[0] == {"event": "nextAgentFlow", "data": {"nodeId": "llmAgentflow_0", "nodeLabel": "LLM",
                                                               "status": "TERMINATED"}}
        assert tail[1]["data"][-1]["status"] == "TERMINATED"
        assert tail[2:] == [{"event": "agentFlowEvent", "data": "TERMINATED"},
                            {"event": "error", "data": "Error: predictionsServices.buildChatflow - "
                                                       "Flow execution was cancelled"},
                            {"event": "end", "data": "[DONE]"}]
        assert client.get(f"/chatmessage/{flow_id}", headers=ADMIN).json() == []


def test_abort_after_header_drops_the_connection(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        flow_id = create_flow(client, {"nodes": [], "edges": []})
        seen: list[dict[str, Any]] = []
        with pytest.raises(httpx.RemoteProtocolError):  # noqa: PT012 - the drop happens while iterating
            with client.stream("POST", f"/prediction/{flow_id}", json={"question": "x", "streaming": True},
                               headers={"X-Mock-Abort-After": "3"}) as response:
                seen.extend(frames(response))
        assert [e["event"] for e in seen if e["event"] != ":heartbeat"] == ["start", "token", "token", "token"]


def test_time_to_first_token_and_heartbeat(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        flow_id = create_flow(client, {"nodes": [], "edges": []})
        started = time.perf_counter()
        first_token = None
        seen = []
        with client.stream("POST", f"/prediction/{flow_id}", json={"question": "x", "streaming": True},
                           headers={"X-Mock-TTFT-Ms": "200"}) as response:
            for event in frames(response):
                seen.append(event["event"])
                if event["event"] == "token" and first_token is None:
                    first_token = time.perf_counter() - started
        assert first_token is not None and first_token >= 0.2
        assert ":heartbeat" in seen[: seen.index("token")]
        assert seen[-1] == "end"
