"""The official clients, unmodified, against the mock over a real socket: Python ``flowise`` and JS ``flowise-sdk``.

The JS SDK is installed from npm into a temporary folder outside the repository with the machine's Node;
when npm or Node is missing or the install fails, that test is skipped with the reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from mockserver import MockSettings

ADMIN = {"Authorization": "Bearer test-admin-key"}
MEMORY_FLOW = {"nodes": [{"id": "bufferMemory_0", "data": {"id": "bufferMemory_0", "name": "bufferMemory",
                                                            "label": "Buffer Memory", "category": "Memory",
                                                            "inputs": {}}}], "edges": []}
JS_SCRIPT = """
const { FlowiseClient } = require('flowise-sdk');
(async () => {
  const [baseUrl, chatflowId] = process.argv.slice(2);
  const client = new FlowiseClient({ baseUrl });
  const plain = await client.createPrediction({ chatflowId, question: 'Hello from JS', chatId: 'js-1' });
  const events = [];
  for await (const event of await client.createPrediction({ chatflowId, question: 'Stream to JS', streaming: true })) {
    events.push(event);
  }
  console.log(JSON.stringify({ plain, events }));
})().catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.fixture(scope="module")
def server(serve_over_socket: Callable[[MockSettings], AbstractContextManager[str]]) -> Iterator[tuple[str, str]]:
    """A mock on a free loopback port with one memory chatflow: ``(root URL, chatflow id)``."""
    settings = MockSettings(db=":memory:", api_key="test-admin-key", log_requests=False, fast=True)
    with serve_over_socket(settings) as root:
        created = httpx.post(f"{root}/api/v1/chatflows", headers=ADMIN,
                             json={"name": "clients", "flowData": json.dumps(MEMORY_FLOW), "type": "CHATFLOW"})
        yield root, created.json()["id"]


def test_python_sdk_streams_and_answers(server: tuple[str, str]) -> None:
    from flowise import Flowise, PredictionData

    root, flow_id = server
    client = Flowise(base_url=root)
    [plain] = list(client.create_prediction(PredictionData(chatflowId=flow_id, question="Hello from Python")))
    assert plain["text"].startswith('You asked: "Hello from Python".') and plain["memoryType"] == "Buffer Memory"
    raw = list(client.create_prediction(PredictionData(chatflowId=flow_id, question="Stream to Python",
                                                       streaming=True)))
    events = [json.loads(line) for line in raw]
    assert [e["event"] for e in events][0] == "start" and events[-1] == {"event": "end", "data": "[DONE]"}
    text = "".join(e["data"] for e in events if e["event"] == "token")
    assert text.startswith('You asked: "Stream to Python".')
    assert events[-2]["event"] == "metadata" and events[-2]["data"]["question"] == "Stream to Python"


@pytest.fixture(scope="module")
def js_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the flowise-sdk test")
    folder = tmp_path_factory.mktemp("flowise-sdk")
    (folder / "package.json").write_text('{"name": "sdk-check", "private": true}', encoding="utf-8")
    try:
        done = subprocess.run(["npm", "install", "flowise-sdk@^1", "--no-audit", "--no-fund", "--ignore-scripts"],
                              cwd=folder, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.skip("npm install flowise-sdk timed out")
    if done.returncode != 0:
        pytest.skip(f"npm could not install flowise-sdk: {done.stderr.strip()[-300:]}")
    (folder / "check.js").write_text(JS_SCRIPT, encoding="utf-8")
    return folder


def test_js_sdk_streams_and_answers(server: tuple[str, str], js_sdk: Path) -> None:
    root, flow_id = server
    done = subprocess.run(["node", "check.js", root, flow_id], cwd=js_sdk, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["plain"]["chatId"] == "js-1" and result["plain"]["text"].startswith('You asked: "Hello from JS".')
    events = result["events"]
    assert events[0] == {"event": "start", "data": ""} and events[-1] == {"event": "end", "data": "[DONE]"}
    assert "".join(e["data"] for e in events if e["event"] == "token").startswith('You asked: "Stream to JS".')
