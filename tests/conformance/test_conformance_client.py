"""The target client refuses to leave BASE_URL or to write in a read-only run, and bounds streams."""

from __future__ import annotations

import time

import httpx
import pytest

from conformance.client import OutsideTarget, Pacer, ReadOnlyRefused, TargetClient
from conformance.profile import build_profile


def client_for(handler, **options: object) -> TargetClient:  # type: ignore[no-untyped-def]
    profile = build_profile({"url": "http://flowise:3000", "api_key": "sk-1", **options}, {}, run_id="r-1")
    return TargetClient(profile, transport=httpx.MockTransport(handler))


def test_requests_go_to_the_api_root_with_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    client = client_for(handler)
    client.get("/chatflows")
    client.get("/ping", auth=None)
    client.get("/x", auth="other")
    assert str(seen[0].url) == "http://flowise:3000/api/v1/chatflows"
    assert seen[0].headers["authorization"] == "Bearer sk-1"
    assert "authorization" not in seen[1].headers
    assert seen[2].headers["authorization"] == "Bearer other"
    assert client.last is not None and "<redacted>" in client.last.curl and "sk-1" not in client.last.curl


def test_never_leaves_base_url() -> None:
    client = client_for(lambda request: httpx.Response(200))
    with pytest.raises(OutsideTarget):
        client.get("https://elsewhere.example.com/api/v1/chatflows")
    client.get("http://flowise:3000/api/v1/ping")


def test_redirects_are_not_followed() -> None:
    client = client_for(lambda request: httpx.Response(302, headers={"Location": "https://elsewhere.example.com/"}))
    assert client.get("/chatflows").status_code == 302


def test_read_only_refuses_writes_before_sending() -> None:
    sent: list[str] = []
    client = client_for(lambda request: sent.append(request.method) or httpx.Response(200), read_only=True)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        with pytest.raises(ReadOnlyRefused):
            client.request(method, "/chatflows", json={})
        with pytest.raises(ReadOnlyRefused):
            client.stream(method, "/prediction/x", json={})
    client.get("/chatflows")
    assert sent == ["GET"]


def test_pacer_spaces_requests() -> None:
    pacer = Pacer(20.0)
    started = time.monotonic()
    for _ in range(4):
        pacer.wait()
    assert time.monotonic() - started >= 0.14
    unpaced = Pacer(None)
    started = time.monotonic()
    for _ in range(100):
        unpaced.wait()
    assert time.monotonic() - started < 0.05


def test_stream_reads_to_the_end() -> None:
    body = b'message:\ndata:{"event":"end","data":"[DONE]"}\n\n'
    client = client_for(lambda request: httpx.Response(200, content=body, headers={"Content-Type": "text/event-stream"}))
    result = client.stream("POST", "/prediction/x", json={"question": "hi", "streaming": True})
    assert result.completed and result.body == body and result.exchange.status == 200


def test_stream_timeout_is_a_result_not_a_hang() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no data", request=request)

    result = client_for(handler).stream("POST", "/prediction/x", json={"question": "hi", "streaming": True})
    assert not result.completed and result.error is not None and result.error.startswith("timeout")
    assert result.exchange.error == result.error and '"streaming": true' in (result.exchange.request_body or "")
