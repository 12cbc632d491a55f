"""Attachments over HTTP: public upload, text extraction, base64, and file names that try to escape."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.resources.attachments import safe_filename

FLOW = "7d6f1b9e-3c2a-4e8b-9a41-5f0c2d8e1a37"
MISSING = "00000000-0000-4000-8000-000000000000"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


@pytest.fixture(autouse=True)
async def chatflow(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post("http://testserver/__mock/seed", headers=admin_headers,
                                 json={"chatflows": [{"id": FLOW, "name": "Support bot"}]})
    assert response.status_code == 200, response.text


def data_dir(app: Any) -> Path:
    return Path(app.state.mock.data_dir).resolve()


async def test_text_files_answer_their_text(client: httpx.AsyncClient, app: Any) -> None:
    files = [("files", ("notes.txt", "Meeting moved to Thursday. ✓".encode(), "text/plain")),
             ("files", ("data.json", b'{"a": 1}', "application/json"))]
    response = await client.post(f"/attachments/{FLOW}/sess-A", files=files)
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"name": "notes.txt", "mimeType": "text/plain", "size": 30, "content": "Meeting moved to Thursday. ✓"},
        {"name": "data.json", "mimeType": "application/json", "size": 8, "content": '{"a": 1}'},
    ]
    assert (data_dir(app) / FLOW / "sess-A" / "notes.txt").read_text(encoding="utf-8").startswith("Meeting")


async def test_binary_files_are_described_or_base64(client: httpx.AsyncClient) -> None:
    described = (await client.post(f"/attachments/{FLOW}/sess-A", files=[("files", ("logo.png", PNG, "image/png"))]))
    assert described.status_code == 200, described.text
    answer = described.json()[0]
    assert answer["mimeType"] == "image/png" and answer["size"] == len(PNG) and "not a text file" in answer["content"]
    encoded = await client.post(f"/attachments/{FLOW}/sess-A", files=[("files", ("logo.png", PNG, "image/png"))],
                                data={"base64": "true"})
    assert encoded.status_code == 200, encoded.text
    assert base64.b64decode(encoded.json()[0]["content"]) == PNG
    plain = await client.post(f"/attachments/{FLOW}/sess-A", files=[("files", ("a.txt", b"hi", "text/plain"))],
                              data={"base64": "false"})
    assert plain.json()[0]["content"] == "hi"


@pytest.mark.parametrize("name", ["../../etc/passwd", "..\\..\\windows\\win.ini", "/abs/path/x.txt", "..", "./.././x.txt"])
async def test_uploaded_names_stay_inside_the_data_dir(client: httpx.AsyncClient, app: Any, name: str) -> None:
    response = await client.post(f"/attachments/{FLOW}/sess-A", files=[("files", (name, b"secret", "text/plain"))])
    assert response.status_code == 200, response.text
    root = data_dir(app)
    written = [p for p in root.rglob("*") if p.is_file()]
    assert len(written) == 1 and written[0].parent == root / FLOW / "sess-A"
    assert written[0].name == safe_filename(name) and ".." not in written[0].name


async def test_chat_id_is_a_safe_folder(client: httpx.AsyncClient, app: Any) -> None:
    response = await client.post(f"/attachments/{FLOW}/sess:1*", files=[("files", ("a.txt", b"x", "text/plain"))])
    assert response.status_code == 200, response.text
    assert (data_dir(app) / FLOW / "sess_1_" / "a.txt").is_file()


async def test_errors(client: httpx.AsyncClient, make_client: Any, admin_headers: dict[str, str],
                      expect_error: Any) -> None:
    files = [("files", ("a.txt", b"x", "text/plain"))]
    expect_error(await client.post(f"/attachments/{MISSING}/sess-A", files=files), 404,
                 f"Chatflow {MISSING} not found")
    expect_error(await client.post("/attachments/not-a-uuid/sess-A", files=files), 400)
    assert "files" in expect_error(await client.post(f"/attachments/{FLOW}/sess-A", files={"other": (None, "x")}), 400)
    quirky = make_client(quirks="flowise-3.1")
    expect_error(await quirky.post(f"/attachments/{MISSING}/sess-A", files=files), 500,
                 f"Error: attachmentService.createAttachment - Chatflow {MISSING} not found")


@pytest.mark.parametrize(("raw", "safe"), [
    ("notes.txt", "notes.txt"), ("../../etc/passwd", "passwd"), ("a\\b\\c.txt", "c.txt"), ("..", "file"),
    ("  .hidden. ", "hidden"), ("re:port?.txt", "re_port_.txt"), ("tab\there.txt", "tabhere.txt"), ("", "file"),
    ("é" * 150 + ".txt", "é" * 98 + ".txt"),
])
def test_safe_filename(raw: str, safe: str) -> None:
    assert safe_filename(raw) == safe
