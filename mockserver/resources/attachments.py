"""``POST /attachments/{chatflowId}/{chatId}``: store uploaded files and answer their text.

The embed widget calls this (public, multipart ``files``) to turn a file into text it sends back as a
``file:full`` upload. Flowise saves each file under ``<storage>/<chatflowId>/<chatId>/`` and runs its file
loader over it; the mock saves under ``<data_dir>/<chatflowId>/<chatId>/`` and reads text files as UTF-8.
Names come from the client, so every path part is reduced to a safe basename first: a name such as
``../../etc/passwd`` must land inside the data directory, never outside it.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from pathlib import Path
from typing import Any

from mockserver import versions
from mockserver.errors import FlowiseError
from mockserver.operations import Call, operation
from mockserver.quirks import active
from mockserver.resources._shape import missing
from mockserver.store import records
from mockserver.store.db import json_value

__all__ = ["create_attachment", "decode_text", "safe_filename", "store_file"]

_UNSAFE = re.compile(r'[<>:"|?*\\/]')
_MAX_NAME_BYTES = 200


def safe_filename(name: str | None, *, fallback: str = "file") -> str:
    """A basename that is safe as one path component: no directories, ``..``, control or reserved characters.

    The part after the last ``/`` or ``\\`` is kept (a client's path is not ours to recreate), control
    characters are dropped, characters Windows or shells treat specially become ``_``, leading and
    trailing dots and spaces go (so ``..`` and ``.`` vanish), and the result is cut to 200 UTF-8 bytes
    keeping the extension. An empty result becomes ``fallback``.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _UNSAFE.sub("_", text).strip(" .")
    if len(text.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:20] if dot and stem else ""
        budget = _MAX_NAME_BYTES - len(ext.encode("utf-8")) - (1 if ext else 0)
        stem = (stem if ext else text).encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
        text = f"{stem}.{ext}" if ext else stem
    return text or fallback


def store_file(root: str | Path, parts: list[str], name: str | None, data: bytes) -> Path:
    """Write ``data`` as ``root/<parts...>/<safe name>`` and return the path (always inside ``root``)."""
    base = Path(root).resolve()
    folder = base.joinpath(*(safe_filename(p, fallback="_") for p in parts))
    target = (folder / safe_filename(name)).resolve()
    if base not in target.parents:  # defence in depth: safe_filename already prevents this
        raise ValueError(f"refusing to write outside {base}: {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def decode_text(data: bytes) -> str | None:
    """The bytes as text when they are UTF-8 without NUL bytes (what a text loader can read), else None."""
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text.removeprefix("\ufeff")


_STRICT_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.IGNORECASE)


def _full_file_upload(chatflow: dict[str, Any]) -> bool:
    """``chatbotConfig.fullFileUpload.status``: what Flowise's createAttachment reads (utils/createAttachment.ts)."""
    config = json_value(chatflow.get("chatbotConfig") or "")
    full = config.get("fullFileUpload") if isinstance(config, dict) else None
    return isinstance(full, dict) and bool(full.get("status"))


def _wants_base64(value: Any) -> bool:
    """The multipart ``base64`` field. Flowise tests its truthiness, so even ``"false"`` would switch it on;
    the contract reads ``true``/``"true"`` as on and anything else as off."""
    if isinstance(value, list):
        value = value[-1] if value else None
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@operation("createAttachment")
async def create_attachment(call: Call) -> list[dict[str, Any]]:
    chatflow_id = call.path["chatflowId"]
    chat_id = call.path["chatId"]
    where = "attachmentService.createAttachment"
    if active(call, "client-error-500") and not _STRICT_UUID.match(str(chatflow_id)):
        # Flowise's own check is the `uuid` package's: version 1-5 and the RFC variant (the nil id fails)
        raise FlowiseError(500, f"Error: {where} - Invalid chatflowId format - must be a valid UUID")
    chatflow = records.get(call.db, "chat_flow", chatflow_id)
    if chatflow is None:
        raise missing(call, f"Chatflow {chatflow_id} not found", where=where)
    if active(call, "client-error-500") and not _full_file_upload(chatflow) \
            and versions.has(call.settings, "attachment-upload-enabled-checked"):
        raise FlowiseError(500, f"Error: {where} - File upload is not enabled for this chatflow")
    as_base64 = _wants_base64((call.body or {}).get("base64"))
    answers = []
    for upload in call.files:
        data = await upload.read()
        name = upload.filename or "file"
        store_file(call.state.data_dir, [chatflow_id, chat_id], name, data)
        mime = upload.content_type or "application/octet-stream"
        if as_base64:
            content = base64.b64encode(data).decode("ascii")
        else:
            text = decode_text(data)
            content = text if text is not None else f"[{name}: {mime}, {len(data)} bytes, not a text file]"
        # Flowise answers the name as uploaded; only the stored copy uses the safe name.
        answers.append({"name": name, "mimeType": mime, "size": len(data), "content": content})
    return answers
