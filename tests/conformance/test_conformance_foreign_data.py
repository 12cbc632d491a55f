"""Records the suite did not create never fail a schema check because of a shape Flowise produces.

`flowise-mock --strict` (the embedded mock) answers 500 when a response breaks the spec, and the suite
fails on it; seeded with an operator's records holding what Flowise itself stores (nulls in nullable
columns, JSON columns holding the text another client gave, ratings and types outside the usual
values), every read of them must conform: a read-only schema run passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from conformance.embedded import EmbeddedMock
from conformance.fixtures import direct_reply_flow_data

FLOW, MESSAGE = str(uuid.uuid4()), str(uuid.uuid4())
SEED = {
    "chatflows": [{"id": FLOW, "name": "operator-flow", "flowData": direct_reply_flow_data(), "type": "AGENTFLOW",
                   "analytic": "not json", "apiConfig": "", "followUpPrompts": "{unparsed", "category": None,
                   "deployed": None, "isPublic": None}],
    "tools": [{"name": "operator-tool", "description": "kept as given", "color": "#fff", "schema": "not json",
               "func": None, "iconSrc": None}],
    "variables": [{"name": "operator-var", "value": None, "type": "something-else"}],
    "assistants": [{"details": json.dumps({"name": "operator-assistant"}), "credential": str(uuid.uuid4()),
                    "type": None, "iconSrc": None}],
    "document_stores": [{"name": "operator-store", "description": None}],
    "chat_messages": [{"id": MESSAGE, "role": "apiMessage", "chatflowid": FLOW, "content": "hi", "chatId": "op-chat",
                       "sessionId": None, "memoryType": None}],
    "feedback": [{"chatflowid": FLOW, "chatId": "op-chat", "messageId": MESSAGE, "rating": "5", "content": None}],
    "leads": [{"chatflowid": FLOW, "chatId": "op-chat", "name": None, "email": None, "phone": None}],
}


@pytest.mark.slow
def test_foreign_records_conform(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    with EmbeddedMock(env=env, log_path=tmp_path / "mock.log") as mock:
        headers = {"Authorization": f"Bearer {mock.api_key}"}
        seeded = httpx.post(f"{mock.base_url}/__mock/seed", json=SEED, headers=headers)
        assert seeded.status_code == 200, seeded.text
        reads = {path: httpx.get(f"{mock.base_url}/api/v1{path}", headers=headers)
                 for path in ("/chatflows", f"/chatflows/{FLOW}", "/tools", "/variables", "/assistants",
                              "/document-store/store", f"/feedback/{FLOW}", f"/chatmessage/{FLOW}")}
        assert {path: r.status_code for path, r in reads.items() if r.status_code != 200} == {}, {
            path: r.text[:300] for path, r in reads.items() if r.status_code != 200}
        command = [sys.executable, "-m", "conformance.cli", mock.base_url, "--api-key", mock.api_key, "--read-only",
                   "--layer", "schema", "--examples", "2", "--report-dir", str(tmp_path / "run")]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    failed = [f"{o['operation']} · {o['check']}: {o['message'][:300]}" for o in results["outcomes"] if o["status"] == "fail"]
    assert not failed and completed.returncode == 0, "\n".join(failed) + completed.stdout[-2000:]
