"""The mock under attack: each case once took it down, wedged it or leaked what it must not.

A hostile client on the same network as ``flowise-mock --host 0.0.0.0`` tried: SQL through the fixture
loader, a read-only key wiping the store, JavaScript that keeps running after an ``await``, typed arrays
past the memory cap, a 20,000-item Iteration, bodies past the size limit (declared, chunked, spread over
many files), ``X-Forwarded-For`` rotation against a rate limit, lone surrogates, flowData of the wrong
shape, a deeply nested body on the OpenAI-compatible route, and connections trickling their headers or
body. The mock runs here as a child process under a data-segment cap (a regression fails the test, not
the machine); throughout every test a watchdog pings it, and it must answer each ping within a second
and stay within its memory. At the end SIGTERM must stop it, with a function still spinning.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mockserver_errors import check_error
from test_agentflow_budget import iteration
from test_agentflow_conditions import branching_flow, cond
from test_agentflow_custom_function import function_flow

from contract.process import ManagedProcess, free_port, mock_env, start_server
from mockserver.jsonbody import MalformedJSONError, parse_json
from mockserver.llm.flow import _FlowDataCache
from mockserver.store.db import Database, UnknownColumnError

ADMIN = "adversary-admin-key"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
#: The child mock's data segment may not grow past this: a runaway allocation fails there.
DATA_CAP = 3 * 1024**3
#: What the mock (and each JavaScript worker) may hold resident in any of these tests.
RSS_BOUND = 600 * 1024**2
BOOT = ("import resource, sys; resource.setrlimit(resource.RLIMIT_DATA, ({cap}, {cap})); "
        "from mockserver.cli import main; sys.exit(main(sys.argv[1:]))")
FLAGS = ["--fast", "--quiet", "--file-size-limit", "1mb", "--header-timeout", "1", "--body-timeout", "2",
         "--js-timeout", "1"]


def launch(tmp: Path, *extra: str) -> ManagedProcess:
    port = free_port()
    argv = [sys.executable, "-c", BOOT.format(cap=DATA_CAP), "--port", str(port), "--db", str(tmp / "mock.db"),
            "--api-key", ADMIN, *FLAGS, *extra]
    return start_server("flowise-mock", argv, port=port, log_path=tmp / "mock.log", env=mock_env())


def status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children are listed per thread: a worker thread may have started one)."""
    found: list[int] = []
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children += (task / "children").read_text().split()
        except OSError:
            pass
    for child in map(int, children):
        found += [child, *descendants(child)]
    return found


class Watchdog:
    """Pings the mock every 50 ms on its own connection; remembers the slowest answer and any failure."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.failures: list[str] = []
        self.pings = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:  # at least one ping, however short the test
                start = time.monotonic()
                try:
                    response = client.get(self.url + "/api/v1/ping")
                    if response.status_code != 200 or response.text != "pong":
                        self.failures.append(f"{response.status_code} {response.text[:80]}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.slowest = max(self.slowest, time.monotonic() - start)
                self.pings += 1
                if self.done.wait(0.05):
                    return

    def __enter__(self) -> Watchdog:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ManagedProcess]:
    process = launch(tmp_path_factory.mktemp("adversary"))
    try:
        yield process
    finally:
        process.stop(grace=15)


@pytest.fixture
def api(server: ManagedProcess) -> Iterator[httpx.Client]:
    """A client of the mock's API, with the server held to its promises around the test."""
    assert server.running(), server.log_tail()
    with Watchdog(server.url) as dog, httpx.Client(base_url=server.url + "/api/v1", timeout=30.0) as client:
        yield client
    assert server.running(), f"the mock died:\n{server.log_tail()}"
    assert dog.pings > 0 and not dog.failures, dog.failures[:5]
    assert dog.slowest < 1.0, f"a ping took {dog.slowest:.2f} s"
    assert server.pid is not None
    for pid in [server.pid, *descendants(server.pid)]:
        assert status_kb(pid, "VmRSS") < RSS_BOUND, f"process {pid} holds {status_kb(pid, 'VmRSS') >> 20} MB"


def create_flow(api: httpx.Client, flow: dict[str, Any], kind: str = "AGENTFLOW", **extra: Any) -> str:
    response = api.post("/chatflows", headers=AUTH,
                        json={"name": "adversary", "flowData": json.dumps(flow), "type": kind, **extra})
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def new_key(api: httpx.Client, *permissions: str) -> dict[str, str]:
    name = f"adversary-{time.monotonic_ns()}"
    response = api.post("/apikey", headers=AUTH, json={"keyName": name, "permissions": list(permissions)})
    assert response.status_code == 200, response.text
    key = next(k["apiKey"] for k in response.json() if k["keyName"] == name)
    return {"Authorization": f"Bearer {key}"}


# -- 1. the fixture loader and the control routes ----------------------------------------------------------

def test_a_fixture_cannot_put_its_keys_into_sql(api: httpx.Client, server: ManagedProcess) -> None:
    before = httpx.get(server.url + "/__mock/state", headers=AUTH).json()
    hostile = 'name") SELECT value, value, value, value FROM mock_meta --'
    response = httpx.post(server.url + "/__mock/seed", headers=AUTH,
                          json={"chatflows": [{"name": "x", "flowData": "{}", hostile: "1"}]})
    message = check_error(response, 400)
    assert "unknown fields" in message and "mock_meta" in message, message
    assert httpx.get(server.url + "/__mock/state", headers=AUTH).json() == before


def test_the_store_refuses_any_column_its_schema_does_not_have(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "db.sqlite"))
    try:
        with pytest.raises(UnknownColumnError, match="evil"):
            db.insert("variable", {"id": "1", "name": "n", 'evil" TEXT); DROP TABLE variable; --': "x"})
        with pytest.raises(UnknownColumnError):
            db.update("variable", "1", {"nope": 1})
        with pytest.raises(UnknownColumnError, match="no table"):
            db.insert('variable" --', {"id": "1"})
        assert db.columns("variable") >= {"id", "name", "value", "type"}
    finally:
        db.close()


def test_the_control_routes_need_the_admin_key(api: httpx.Client, server: ManagedProcess) -> None:
    viewer = new_key(api, "tools:view")
    for method, path in (("POST", "/__mock/reset"), ("POST", "/__mock/seed"), ("GET", "/__mock/state")):
        refused = httpx.request(method, server.url + path, headers=viewer, json={})
        assert (refused.status_code, refused.json()) == (403, {"message": "Forbidden"}), (path, refused.text)
        anonymous = httpx.request(method, server.url + path, json={})
        assert (anonymous.status_code, anonymous.json()) == (401, {"error": "Unauthorized Access"}), path
    assert httpx.get(server.url + "/__mock/state", headers=AUTH).status_code == 200
    assert api.get("/tools", headers=viewer).status_code == 200  # the key itself still works


# -- 2 and 5. Custom Function JavaScript ----------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "await null; while (true) {}",
    "Promise.resolve().then(() => { while (true) {} }); return 1;",
    "await new Promise(resolve => resolve()); for (;;) {}",
])
def test_a_function_spinning_after_an_await_is_stopped_and_the_next_one_runs(api: httpx.Client, code: str) -> None:
    spinning = create_flow(api, function_flow(code))
    started = time.monotonic()
    message = check_error(api.post(f"/prediction/{spinning}", json={"question": "hi"}), 500)
    assert message.endswith("Error: the function ran longer than 1 s"), message
    assert time.monotonic() - started < 10
    fine = create_flow(api, function_flow("return `ok ${$input}`;"))
    assert api.post(f"/prediction/{fine}", json={"question": "hi"}).json()["text"] == "ok hi"


def test_typed_arrays_count_against_the_memory_cap(api: httpx.Client) -> None:
    code = ("const kept = []; for (let i = 0; i < 30; i++) { const a = new Uint8Array(100 * 1024 * 1024); "
            "a.fill(1); kept.push(a); } return kept.length;")
    flow = create_flow(api, function_flow(code))
    message = check_error(api.post(f"/prediction/{flow}", json={"question": "hi"}), 500)
    assert "Array buffer allocation failed" in message or "MB of memory" in message, message


# -- 3. agentflow work ------------------------------------------------------------------------------

def test_an_iteration_over_20000_items_is_refused_small_and_fast(api: httpx.Client) -> None:
    flow = create_flow(api, iteration())
    question = json.dumps([f"item {i}" for i in range(20_000)])
    assert len(question) > 100_000
    response = api.post(f"/prediction/{flow}", json={"question": question})
    message = check_error(response, 500)
    assert "work budget exceeded" in message and len(response.content) < 2_000


def test_a_backtracking_regex_condition_fails_the_node_and_stalls_nothing(api: httpx.Client) -> None:
    flow = create_flow(api, branching_flow(cond("string", "{{ question }}", "regex", "(x+x+)+y")))
    message = check_error(api.post(f"/prediction/{flow}", json={"question": "x" * 5000}), 500)
    assert message.endswith("Error: the condition's regex took longer than 1 s"), message


# -- 4. one body limit for every route -----------------------------------------------------------------

def raw_exchange(url: str, head: bytes, body_chunks: Iterable[bytes] = (), *, pause: float = 0.0) -> bytes:
    """Send ``head`` then the chunks (stopping when the server has answered or closed); return its answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        for chunk in body_chunks:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            time.sleep(pause)
        sock.setblocking(True)
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 20:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


def chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = b"x" * min(size, total - sent)
        sent += len(piece)
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(api: httpx.Client,
                                                                      server: ManagedProcess) -> None:
    for path in (b"/v1/chat/completions", b"/api/v1/attachments/x/y", b"/__mock/seed"):
        head = (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 200000000\r\n\r\n" % path)
        answer = raw_exchange(server.url, head)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        if path.startswith(b"/v1/"):
            assert body["error"]["message"] == "request entity too large"
        else:
            assert body == {"statusCode": 413, "success": False, "message": "request entity too large", "stack": {}}


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/v1/chatflows",
                                  "/api/v1/attachments/6a1e0c9e-2f4b-4c8e-9a55-0d3c1b7e9f10/chat-1"])
def test_a_chunked_body_stops_at_the_limit(api: httpx.Client, server: ManagedProcess, path: str) -> None:
    assert server.pid is not None
    before = status_kb(server.pid, "VmHWM")
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    answer = raw_exchange(server.url, head, chunked(50 * 1024**2))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert status_kb(server.pid, "VmHWM") - before < 20 * 1024**2, "the server buffered past the limit"


@pytest.mark.parametrize("path", ["/api/v1/no-such-route", "/api/v1/apikey/no-such-key"])
def test_an_answer_waits_for_the_whole_body_and_keeps_the_connection(server: ManagedProcess, path: str) -> None:
    """Flowise's body parsers read every JSON body before any route answers; an answer that overtook the
    body would be cut by a proxy still forwarding it (Caddy 2.6, docs/deployment.md#answers-cut-off)."""
    host, port = server.url.removeprefix("http://").split(":")
    body = json.dumps({"name": "x" * 100_000}).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body[:1000])
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(65536)  # the rest of the body is still to come: no answer yet
        sock.settimeout(10)
        sock.sendall(body[1000:] + b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")  # then one more request
        served = b""
        while not served.endswith(b"pong") and (more := sock.recv(65536)):
            served += more
    first, _, second = served.partition(b"HTTP/1.1 200 OK")
    assert first.split(b" ", 2)[1] in (b"404", b"405") and b"connection: close" not in first.lower(), served
    assert second.endswith(b"pong"), served  # the same connection served on


def test_an_upload_over_the_limit_is_not_stored(api: httpx.Client) -> None:
    flow = create_flow(api, {"nodes": [], "edges": []}, "CHATFLOW")
    big = api.post(f"/attachments/{flow}/chat-1", files={"files": ("big.txt", b"a" * (20 * 1024**2), "text/plain")})
    check_error(big, 413, "request entity too large")
    many = [("files", (f"f{i}.txt", b"b" * 60_000, "text/plain")) for i in range(20)]
    spread = api.post(f"/prediction/{flow}", data={"question": "hi"}, files=many)
    check_error(spread, 413, "request entity too large")
    stored = api.get(f"/chatmessage/{flow}", headers=AUTH).json()
    assert stored == []


# -- 6. the smaller ones ---------------------------------------------------------------------------------

def test_rotating_forwarded_for_does_not_dodge_a_rate_limit(api: httpx.Client) -> None:
    limit = {"rateLimit": {"status": True, "limitMax": 2, "limitDuration": 60, "limitMsg": "slow down"}}
    flow = create_flow(api, {"nodes": [], "edges": []}, "CHATFLOW", apiConfig=json.dumps(limit))
    statuses = [api.post(f"/prediction/{flow}", json={"question": "hi"},
                         headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 429, 429]


@pytest.mark.parametrize("path,body", [
    ("/variables", '{"name":"a\\udc00","value":"x","type":"static"}'),
    ("/chatflows", '{"name":"a\\ud800b","flowData":"{}","type":"CHATFLOW"}'),
])
def test_a_lone_surrogate_is_a_400(api: httpx.Client, path: str, body: str) -> None:
    response = api.post(path, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert "lone surrogate" in check_error(response, 400)


def test_a_lone_surrogate_in_a_question_is_a_400(api: httpx.Client) -> None:
    flow = create_flow(api, {"nodes": [], "edges": []}, "CHATFLOW")
    for extra in ("", ',"streaming":true'):
        response = api.post(f"/prediction/{flow}", content='{"question":"a\\ud800b"' + extra + "}",
                            headers={"Content-Type": "application/json"})
        assert "lone surrogate" in check_error(response, 400)


@pytest.mark.parametrize("kind", ["CHATFLOW", "AGENTFLOW"])
def test_flowdata_of_the_wrong_shape_is_read_as_an_empty_graph(api: httpx.Client, kind: str) -> None:
    flow = create_flow(api, {"nodes": "x", "edges": 5}, kind)  # type: ignore[dict-item]
    for route in ("chatflows-streaming", "chatflows-uploads"):
        assert api.get(f"/{route}/{flow}").status_code == 200, route
    answer = api.post(f"/prediction/{flow}", json={"question": "hi"})
    assert answer.status_code == 200 and "TypeError" not in answer.text, answer.text[:200]


def test_a_deeply_nested_body_gets_openais_error_on_the_openai_route(api: httpx.Client,
                                                                       server: ManagedProcess) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    response = httpx.post(server.url + "/v1/chat/completions", content=deep,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "nested too deeply" in response.json()["error"]["message"]


def test_connections_trickling_their_headers_are_closed(api: httpx.Client, server: ManagedProcess) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    socks = [socket.create_connection((host, int(port)), timeout=5) for _ in range(200)]
    try:
        for sock in socks:
            sock.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + 4.0  # the header timeout is 1 s
        while time.monotonic() < deadline:
            for sock in socks:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(0.3)
        closed = 0
        for sock in socks:
            sock.settimeout(2)
            try:
                closed += sock.recv(1024) == b""
            except OSError:
                closed += 1
        assert closed == len(socks)
    finally:
        for sock in socks:
            sock.close()


def test_a_trickling_body_gets_a_408(api: httpx.Client, server: ManagedProcess) -> None:
    head = (b"POST /api/v1/variables HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    answer = raw_exchange(server.url, head, iter([b"{"] * 40), pause=0.25)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request body not received within 2 s" in answer


# -- the pieces on their own --------------------------------------------------------------------------

def test_the_parsed_flowdata_cache_is_bounded_by_size() -> None:
    cache = _FlowDataCache(max_chars=8 * 1024**2, max_entry_chars=1024**2)
    for i in range(20):
        text = json.dumps({"nodes": [], "edges": [], "pad": "x" * (512 * 1024), "i": i})
        assert cache.get(text)[0]["i"] == i
    assert cache.chars <= 8 * 1024**2 and len(cache.entries) < 20
    huge = json.dumps({"nodes": [], "pad": "y" * (3 * 1024**2)})
    cache.get(huge)
    assert huge not in cache.entries


@pytest.mark.parametrize("text,problem", [
    ('"\\ud800"', "lone surrogate"), ('{"a": ["\\udfff"]}', "lone surrogate"), ("[" * 50_000, "nested too deeply"),
    ("{", "Expecting"),
])
def test_json_the_mock_cannot_keep_is_malformed(text: str, problem: str) -> None:
    with pytest.raises(MalformedJSONError, match=problem):
        parse_json(text.encode())
    assert parse_json(b'"\\ud83d\\ude00"') == "\U0001f600"  # a pair is text


# -- last: stopping -----------------------------------------------------------------------------------------

def test_sigterm_stops_the_mock_while_a_function_spins(tmp_path: Path) -> None:
    process = launch(tmp_path, "--js-timeout", "60")
    try:
        client = httpx.Client(base_url=process.url + "/api/v1", timeout=5)
        flow = create_flow(client, function_flow("await null; while (true) {}"))

        def predict() -> None:
            try:
                httpx.post(f"{process.url}/api/v1/prediction/{flow}", json={"question": "hi"}, timeout=60)
            except httpx.HTTPError:
                pass

        threading.Thread(target=predict, daemon=True).start()
        assert process.pid is not None
        deadline = time.monotonic() + 15
        while not descendants(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = descendants(process.pid)
        assert workers, "no JavaScript worker started"
        time.sleep(0.5)
        assert process.process is not None
        os.kill(process.pid, signal.SIGTERM)
        assert process.process.wait(timeout=15) == 0
        time.sleep(0.5)
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                    and "zombie" not in Path(f"/proc/{pid}/status").read_text()]
        client.close()
    finally:
        process.stop(grace=5)
