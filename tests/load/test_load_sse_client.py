"""The locust-side stream client over a real socket, in a subprocess (importing locust gevent-patches)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, sys
from argparse import Namespace
from locust.env import Environment
from load.sse_client import stream_prediction
from load.users.base import recorder_for
from load.users.streaming import StreamingUser

url, flow = sys.argv[1:3]
options = Namespace(flowise_chatflow_id=flow, flowise_api_key="", flowise_run_id="t", flowise_think_time="0")
env = Environment(user_classes=[StreamingUser], host=url, parsed_options=options)
rows = []
env.events.request.add_listener(lambda **kw: rows.append(
    [kw["request_type"], kw["name"], kw["response_time"], kw["response_length"],
     str(kw["exception"]) if kw["exception"] else None]))
StreamingUser.host = url
user = StreamingUser(env)
results = {}
for case, fault in [("ok", None), ("error", "error"), ("abort", "abort"), ("empty", "empty"), ("ok2", None)]:
    result = stream_prediction(user, {"question": "q"}, headers={"X-Stub-Fault": fault} if fault else None)
    results[case] = {"outcome": result.outcome.value, "tokens": result.tokens, "ttft": result.ttft_ms,
                     "itl": result.itl_ms, "e2e": result.e2e_ms, "message": result.message}
user.prediction_path = "/api/v1/prediction/nope"
result = stream_prediction(user, {"question": "q"})
results["http"] = {"outcome": result.outcome.value, "message": result.message}
print(json.dumps({"results": results, "rows": rows, "recorded": recorder_for(env).streams["outcome"]}))
"""


@pytest.fixture
def run(start_stub, create_chatflow) -> dict:
    url = start_stub("--ttft-ms", "50", "--itl-ms", "10", "--answer-tokens", "8")
    flow = create_chatflow(url)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, url, flow], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_outcomes_and_timing_over_a_real_socket(run: dict) -> None:
    results = run["results"]
    for case in ("ok", "ok2"):  # ok2: the connection is reused after a clean `end`
        ok = results[case]
        assert ok["outcome"] == "ok" and ok["tokens"] == 8
        assert ok["e2e"] == pytest.approx(ok["ttft"] + 7 * ok["itl"])
    # The stub waits 50 ms before the first token and 10 ms before each next one: no stream can be read
    # faster than that. (Upper bounds, or a floor on one gap, would time the machine: a busy reader may
    # take several tokens from its buffer at once.)
    for case in ("ok", "ok2"):
        assert results[case]["ttft"] >= 50 and results[case]["e2e"] >= 50 + 7 * 10, results[case]
    assert results["error"] == {**results["error"], "outcome": "error", "message": "Error: stub failure"}
    assert results["abort"]["outcome"] == "aborted" and results["abort"]["tokens"] == 2
    assert results["empty"]["outcome"] == "empty" and results["empty"]["tokens"] == 0
    assert results["http"] == {"outcome": "http_error", "message": "HTTP 404: Chatflow nope not found"}
    assert run["recorded"] == ["ok", "error", "aborted", "empty", "ok", "http_error"]


def test_locust_rows(run: dict) -> None:
    rows = run["rows"]
    stream_rows = [r for r in rows if r[1] == "prediction (stream)"]
    assert [r[4] is None for r in stream_rows] == [True, False, False, False, True, False]
    assert stream_rows[0][3] == 8  # content size = output tokens
    assert stream_rows[1][4] == "error: Error: stub failure"
    assert stream_rows[2][4].startswith("aborted: ")
    assert stream_rows[3][4] == "empty: stream ended without a `token` event"
    names = [r[1] for r in rows if r[0] == "LLM"]
    # TTFT for every stream that saw a token (ok, aborted, ok2); ITL and tokens/s only for ok streams.
    assert names.count("TTFT") == 3 and names.count("ITL") == 2 and names.count("output tokens/s per request") == 2
