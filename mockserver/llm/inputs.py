"""A prediction request, read and checked: question, conversation ids, overrides, history, uploads, files.

Flowise takes ``chatId = body.chatId ?? overrideConfig.sessionId ?? uuid`` and ignores a top-level
``sessionId``; ``streaming`` may be ``true`` or ``"true"``; multipart text fields arrive as strings
(docs/prediction.md#request-fields). Flowise itself accepts almost anything and fails later (a 500, or a
hang on a stream); by contract every malformed part is a 4xx ``FlowiseError`` raised here, before anything is
stored or a stream is opened:

- 400 for a non-string ``chatId``/``overrideConfig.sessionId`` ("Invalid sessionId: must be a string"),
  malformed ``history`` items, an unknown upload type, a ``data`` that is not a base64 data URI (or not
  valid base64), a ``url`` upload that is not http(s), and a request with no input at all;
- 413 for an upload whose decoded size is over ``FLOWISE_FILE_SIZE_LIMIT``.

Uploads keep Flowise's stored form (``stored-file`` without ``data``) for the chat message's
``fileUploads`` column; ``file:full`` text is inlined into the question the LLM sees as
``<doc name='..'>..</doc>`` blocks, as Flowise does.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from mockserver.errors import FlowiseError
from mockserver.llm.answer import Attachment

__all__ = ["PredictionInput", "SubmittedFile", "Upload", "read_prediction"]

UPLOAD_TYPES = ("file", "url", "audio", "file:rag", "file:full")
_DATA_URI = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),(.*)$", re.DOTALL)
_TEXT_MIMES = ("text/", "application/json", "application/xml", "application/csv", "application/x-ndjson")


@dataclass(frozen=True)
class SubmittedFile:
    """A multipart file, already read."""

    name: str
    mime: str
    content: bytes

    @property
    def text(self) -> str | None:
        if not self.mime.startswith(_TEXT_MIMES) and not self.name.endswith((".txt", ".md", ".csv", ".json")):
            return None
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None


@dataclass(frozen=True)
class Upload:
    """One ``uploads`` item: what was sent, what it decodes to, and how Flowise stores it."""

    type: str
    name: str
    mime: str
    data: str
    content: bytes | None = None

    def stored(self) -> dict[str, Any]:
        """The item as Flowise keeps it in ``fileUploads`` (binary ``data`` dropped, type renamed)."""
        if self.type in ("file", "file:rag", "audio"):
            return {"type": "stored-file", "name": self.name, "mime": self.mime}
        if self.type == "file:full":
            return {"type": "stored-file:full", "name": self.name, "mime": self.mime}
        return {"data": self.data, "name": self.name, "type": "url", "mime": self.mime or "image/png"}

    def attachment(self) -> Attachment | None:
        """What the fake LLM is told about this upload (``file:full`` reaches it inlined instead)."""
        if self.type == "url":
            return Attachment(self.data, "url")
        if self.type == "audio" or self.mime.startswith("audio/"):
            return Attachment(self.name, "audio")
        if self.type == "file" and self.mime.startswith("image/"):
            return Attachment(self.name, "image")
        if self.type in ("file", "file:rag"):
            text = ""
            if self.content is not None and self.mime.startswith(_TEXT_MIMES):
                text = self.content.decode("utf-8", errors="replace")
            return Attachment(self.name, "file", text)
        return None


@dataclass
class PredictionInput:
    """A validated prediction request (see the module docstring)."""

    question: str | None
    streaming: bool
    chat_id: str | None
    override_session_id: str | None
    overrides: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    files: list[SubmittedFile] = field(default_factory=list)
    form: dict[str, Any] | None = None
    lead_email: str | None = None
    has_resume: bool = False
    #: ``{type: proceed|reject, startNodeId, feedback?}``: continue an agentflow stopped at a human-input node
    human_input: dict[str, Any] | None = None

    @property
    def has_input(self) -> bool:
        return self.question is not None or bool(self.uploads or self.files or self.form or self.has_resume)

    def inlined_question(self, question: str) -> str:
        """The question as the LLM sees it: ``file:full`` texts inlined before it, as Flowise does."""
        docs = "".join(f"<doc name='{u.name}'>{u.data}</doc>\n\n" for u in self.uploads if u.type == "file:full")
        return f"{docs}\n\n{question}" if docs else question

    def attachments(self) -> list[Attachment]:
        found = [a for a in (u.attachment() for u in self.uploads) if a is not None]
        found.extend(Attachment(f.name, "file", f.text or "") for f in self.files)
        return found


def _maybe_json(value: Any, *, field_name: str) -> Any:
    """Multipart sends objects as strings; Flowise leaves them undecoded, the mock decodes what parses."""
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            raise FlowiseError(400, f"Invalid {field_name}: not valid JSON") from None
    return value


def _history(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FlowiseError(400, "Invalid history format: history must be an array of messages")
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise FlowiseError(400, f"Invalid history format: item {index} must be an object")
        role = item.get("role") if item.get("role") is not None else item.get("type")
        if role not in ("userMessage", "apiMessage"):
            raise FlowiseError(400, f"Invalid history format: item {index} needs role (or type) "
                                    "'userMessage' or 'apiMessage'")
        content = item.get("content") if item.get("content") is not None else item.get("message")
        if not isinstance(content, str):
            raise FlowiseError(400, f"Invalid history format: item {index} needs content (or message) as a string")
    return list(raw)


def _decode_data_uri(data: str, name: str) -> tuple[str, bytes]:
    match = _DATA_URI.match(data)
    if not match or ";base64" not in match.group(2):
        raise FlowiseError(400, f"Invalid upload {name!r}: data must be a base64 data URI (data:<mime>;base64,...)")
    payload = re.sub(r"\s+", "", match.group(3))
    try:
        content = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise FlowiseError(400, f"Invalid upload {name!r}: data is not valid base64") from None
    return match.group(1), content


def _uploads(raw: Any, limit: int) -> list[Upload]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise FlowiseError(400, "Invalid uploads: uploads must be an array")
    uploads = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise FlowiseError(400, f"Invalid uploads: item {index} must be an object")
        kind = item.get("type")
        given_name = item.get("name")
        name = given_name if isinstance(given_name, str) else f"upload-{index}"
        if kind not in UPLOAD_TYPES:
            raise FlowiseError(400, f"Invalid upload {name!r}: unsupported type {kind!r} "
                                    f"(expected one of {', '.join(UPLOAD_TYPES)})")
        data = item.get("data")
        if not isinstance(data, str) or not data:
            raise FlowiseError(400, f"Invalid upload {name!r}: data must be a non-empty string")
        given_mime = item.get("mime")
        mime = given_mime if isinstance(given_mime, str) else ""
        content: bytes | None = None
        if kind in ("file", "file:rag", "audio"):
            uri_mime, content = _decode_data_uri(data, name)
            mime = mime or uri_mime
            size = len(content)
        elif kind == "url":
            if not re.match(r"^https?://\S+$", data):
                raise FlowiseError(400, f"Invalid upload {name!r}: a url upload needs an http(s) URL in data")
            size = 0
        else:
            size = len(data.encode("utf-8"))
        if size > limit:
            raise FlowiseError(413, f"Upload {name!r} is too large: {size} bytes, the limit is {limit} bytes")
        uploads.append(Upload(kind, name, mime, data, content))
    return uploads


def _session_string(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FlowiseError(400, "Invalid sessionId: must be a string")
    return value


def read_prediction(body: Any, files: list[SubmittedFile], *, size_limit: int,
                    lenient: bool = False) -> PredictionInput:
    """Validate a prediction body (JSON object, or multipart/urlencoded text fields) and its files.
    ``lenient`` (quirk ``no-input-validation``): a scalar question of another type is read as its text."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise FlowiseError(400, "Invalid request body: expected a JSON object")
    question = body.get("question")
    if lenient and isinstance(question, bool | int | float):
        question = json.dumps(question)
    if question is not None and not isinstance(question, str):
        raise FlowiseError(400, "Invalid question: must be a string")
    overrides = _maybe_json(body.get("overrideConfig"), field_name="overrideConfig")
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise FlowiseError(400, "Invalid overrideConfig: must be an object")
    variables = _maybe_json(overrides.get("vars"), field_name="overrideConfig.vars")
    if variables is not None and not isinstance(variables, dict):
        raise FlowiseError(400, "Invalid overrideConfig.vars: must be an object")
    form = _maybe_json(body.get("form"), field_name="form")
    if form is not None and not isinstance(form, dict):
        raise FlowiseError(400, "Invalid form: must be an object")
    lead_email = body.get("leadEmail")
    if lead_email is not None and not isinstance(lead_email, str):
        raise FlowiseError(400, "Invalid leadEmail: must be a string")
    human_input = body.get("humanInput")
    if human_input is not None and not isinstance(human_input, dict):
        raise FlowiseError(400, "Invalid humanInput: must be an object")
    for big in files:
        if len(big.content) > size_limit:
            raise FlowiseError(413, f"File {big.name!r} is too large: {len(big.content)} bytes, "
                                    f"the limit is {size_limit} bytes")
    return PredictionInput(
        question=question,
        streaming=body.get("streaming") in (True, "true"),
        chat_id=_session_string(body.get("chatId")),
        override_session_id=_session_string(overrides.get("sessionId")),
        overrides=overrides,
        variables=dict(variables or {}),
        history=_history(_maybe_json(body.get("history"), field_name="history")),
        uploads=_uploads(body.get("uploads"), size_limit),
        files=list(files),
        form=form or None,
        lead_email=lead_email,
        has_resume=bool(human_input or body.get("action")),
        human_input=human_input or None,
    )
