"""An answer a proxy cut off mid-body is sent once more, counted, and reported as the proxy's doing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from conformance.schema.resend import CutAnswers, ResendingAdapter, resending_sessions

_FULL = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{"a":1}\r\n0\r\n\r\n'
_CUT = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{"a"'


class CuttingServer:
    """Answers each connection's request with the next of `answers` (cut ones close mid-chunk)."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.bodies: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for answer in self.answers:
            connection, _ = self.listener.accept()
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += connection.recv(65536)
                self.bodies.append(body)
                connection.sendall(answer)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def session_and_cut() -> Iterator[tuple[requests.Session, CutAnswers]]:
    cut = CutAnswers()
    session = requests.Session()
    session.mount("http://", ResendingAdapter(cut))
    session.headers["Connection"] = "close"  # one request per connection, as the server expects
    yield session, cut
    session.close()


def test_a_cut_answer_is_sent_once_more_and_counted(session_and_cut: tuple[requests.Session, CutAnswers]) -> None:
    session, cut = session_and_cut
    server = CuttingServer([_CUT, _FULL])
    try:
        response = session.post(server.url + "/api/v1/variables?x=1", json={"name": "n"}, stream=True)
    finally:
        server.close()
    assert response.json() == {"a": 1}
    assert server.bodies == [b'{"name": "n"}', b'{"name": "n"}']  # the same request, twice
    assert cut.resent == {"POST /api/v1/variables": 1} and not cut.cut_again
    assert "1 answers cut off mid-body" in cut.summary() and "1 then answered in full" in cut.summary()


def test_a_second_cut_fails_as_before(session_and_cut: tuple[requests.Session, CutAnswers]) -> None:
    session, cut = session_and_cut
    server = CuttingServer([_CUT, _CUT])
    try:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            session.put(server.url + "/api/v1/apikey/abc", json={}, stream=True)
    finally:
        server.close()
    assert cut.cut_again == {"PUT /api/v1/apikey/abc": 1}
    assert "0 then answered in full, 1 cut again" in cut.summary()


def test_an_answer_in_full_is_sent_once(session_and_cut: tuple[requests.Session, CutAnswers]) -> None:
    session, cut = session_and_cut
    server = CuttingServer([_FULL])
    try:
        assert session.get(server.url + "/api/v1/ping").json() == {"a": 1}
    finally:
        server.close()
    assert len(server.bodies) == 1 and not cut.resent and cut.summary() == ""


def test_the_sessions_schemathesis_makes_resend_only_while_enabled() -> None:
    """Guards the seam: schemathesis' engine builds its sessions with `make_session`."""
    from schemathesis.engine import context

    cut = CutAnswers()
    with resending_sessions(cut) as active:
        assert active
        session = context.make_session(_project_config())
        assert isinstance(session.get_adapter("https://flowise.example"), ResendingAdapter)
    assert not isinstance(context.make_session(_project_config()).get_adapter("https://x"), ResendingAdapter)
    with resending_sessions(cut, enabled=False) as active:
        assert not active
        assert not isinstance(context.make_session(_project_config()).get_adapter("https://x"), ResendingAdapter)


def _project_config():
    from schemathesis.config import SchemathesisConfig

    return SchemathesisConfig().projects.get_default()
