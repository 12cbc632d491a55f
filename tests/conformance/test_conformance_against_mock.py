"""The whole suite against `flowise-mock` holding data it did not create.

One quick run (all layers and phases, few examples) against a mock seeded with an "operator's"
data. It must leave that data exactly as it was, leave nothing of its own behind, and (the
acceptance criterion) pass every check against the mock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance.embedded import EmbeddedMock
from conformance.fixtures import direct_reply_flow_data

pytestmark = pytest.mark.slow  # every test reads one whole flowise-conformance run against a mock

FLOW, TOOL, VARIABLE, ASSISTANT, STORE = (str(uuid.uuid4()) for _ in range(5))
MESSAGE, ANSWER, FEEDBACK, LEAD = (str(uuid.uuid4()) for _ in range(4))
SEED: dict[str, list[dict[str, Any]]] = {
    "chatflows": [{"id": FLOW, "name": "operator-flow", "flowData": direct_reply_flow_data(), "type": "AGENTFLOW"}],
    "tools": [{"id": TOOL, "name": "operator-tool", "description": "keep me", "color": "#fff"}],
    "variables": [{"id": VARIABLE, "name": "operator-var", "value": "v1", "type": "static"}],
    "assistants": [{"id": ASSISTANT, "details": json.dumps({"name": "operator-assistant"}), "credential": str(uuid.uuid4()), "type": "CUSTOM"}],
    "document_stores": [{"id": STORE, "name": "operator-store", "description": "keep me"}],
    "chat_messages": [
        {"id": MESSAGE, "role": "userMessage", "chatflowid": FLOW, "content": "hello", "chatId": "operator-chat"},
        {"id": ANSWER, "role": "apiMessage", "chatflowid": FLOW, "content": "Echo: hello", "chatId": "operator-chat"},
    ],
    "feedback": [{"id": FEEDBACK, "chatflowid": FLOW, "chatId": "operator-chat", "messageId": ANSWER, "rating": "THUMBS_UP"}],
    "leads": [{"id": LEAD, "chatflowid": FLOW, "chatId": "operator-chat", "name": "Op", "email": "op@example.com"}],
}
READS = [
    "/chatflows",
    f"/chatflows/{FLOW}",
    "/tools",
    "/variables",
    "/assistants",
    "/document-store/store",
    "/credentials",
    "/apikey",
    f"/chatmessage/{FLOW}",
    f"/feedback/{FLOW}",
    f"/leads/{FLOW}",
]


def snapshot(url: str, key: str) -> dict[str, Any]:
    """Every listing, keeping only what the run did not create (names with its prefix are its own)."""
    result: dict[str, Any] = {}
    with httpx.Client(base_url=url + "/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        for path in READS:
            data = client.get(path).json()
            if isinstance(data, list):
                data = [item for item in data if not _is_runs(item)]
            result[path] = data
    return result


def _is_runs(item: Any) -> bool:
    text = json.dumps(item)
    return "conformance-" in text and "operator" not in text


@pytest.fixture(scope="module")
def mock_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    report_dir = tmp_path_factory.mktemp("conformance-run")
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWISE_")}
    with EmbeddedMock(env=env, log_path=report_dir / "mock.log") as mock:
        seeded = httpx.post(f"{mock.base_url}/__mock/seed", json=SEED, headers={"Authorization": f"Bearer {mock.api_key}"})
        assert seeded.status_code == 200, seeded.text
        before = snapshot(mock.base_url, mock.api_key)
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance.cli",
                mock.base_url,
                "--api-key",
                mock.api_key,
                "--examples",
                "3",
                "--max-body",
                "1mb",
                "--report-dir",
                str(report_dir),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            cwd=report_dir,
        )
        after = snapshot(mock.base_url, mock.api_key)
        with httpx.Client(base_url=mock.base_url + "/api/v1", headers={"Authorization": f"Bearer {mock.api_key}"}) as client:
            leftovers = [
                item
                for path in ("/chatflows", "/tools", "/variables", "/assistants", "/document-store/store", "/credentials", "/apikey")
                for item in client.get(path).json()
                if "conformance-" in json.dumps(item)
            ]
    yield {
        "before": before,
        "after": after,
        "leftovers": leftovers,
        "completed": completed,
        "results": json.loads((report_dir / "results.json").read_text()) if (report_dir / "results.json").exists() else {},
        "report_dir": report_dir,
    }


def test_foreign_data_is_unchanged(mock_run: dict[str, Any]) -> None:
    assert mock_run["results"], mock_run["completed"].stdout[-3000:] + mock_run["completed"].stderr[-2000:]
    assert mock_run["after"] == mock_run["before"]


def test_nothing_of_the_run_is_left_behind(mock_run: dict[str, Any]) -> None:
    assert mock_run["leftovers"] == []


def test_reports_are_written(mock_run: dict[str, Any]) -> None:
    names = {path.name for path in mock_run["report_dir"].iterdir()}
    assert {"junit.xml", "results.json", "report.html", "ledger.json"} <= names
    assert {"schemathesis-junit.xml", "schemathesis-events.ndjson", "schemathesis.har"} <= names
    phases = mock_run["results"]["notes"]["schemathesis phases"]
    for phase in ("examples", "coverage", "fuzzing", "stateful"):
        assert f"{phase}: " in phases and f"{phase}: skip" not in phases


def test_every_check_passes_against_the_mock(mock_run: dict[str, Any]) -> None:
    """The acceptance criterion: against the mock nothing fails (known deviations aside)."""
    failed = [f"{o['operation']} · {o['check']}: {o['message'][:200]}" for o in mock_run["results"].get("outcomes", []) if o["status"] == "fail"]
    assert not failed, "\n".join(failed[:40])
    assert mock_run["completed"].returncode == 0
