"""RAG mix: upsert a document into the chatflow's vector store, then ask questions that retrieve it.

Upserts go through `POST /api/v1/vector/upsert/{id}` as the embed widget sends them (multipart
`files`); it needs an API key on Flowise 3.0.13 and later. Predictions are non-streaming so their
latency is one end-to-end figure (the RAG profile's SLO is on it); how many answers carried
`sourceDocuments` is recorded, because a chatflow without retrieval would make the profile meaningless.
"""

from __future__ import annotations

import uuid

from locust import task

from load.users.base import FlowiseUser
from load.users.prediction import predict

__all__ = ["RagUser"]

DOCUMENT = (
    "Flowise load testing notes.\n"
    "Time to first token is measured to the first token event, not to the response headers.\n"
    "Inter-token latency is the mean gap between tokens after the first one.\n"
)
RAG_QUESTIONS = (
    "How is time to first token measured?",
    "What is inter-token latency?",
    "What do the load testing notes say?",
)


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """Encode a small multipart/form-data body (geventhttpclient has no encoder of its own)."""
    boundary = f"flowise-load-{uuid.uuid4().hex}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, mime) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {mime}\r\n\r\n")
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class RagUser(FlowiseUser):
    """Upserts once at start and now and then; otherwise asks retrieval questions."""

    def on_start(self) -> None:
        self.upsert()

    @task(1)
    def upsert(self) -> None:
        body, content_type = multipart({"chatId": self.chat_id},
                                       {"files": ("load-notes.txt", DOCUMENT.encode(), "text/plain")})
        headers = {**self.auth_headers(), "Content-Type": content_type}
        self.client.post(f"/api/v1/vector/upsert/{self.chatflow_id}", data=body, headers=headers,
                         name="/api/v1/vector/upsert/[id]")

    @task(9)
    def ask_with_retrieval(self) -> None:
        body = self.next_question()
        body["question"] = RAG_QUESTIONS[self._turns % len(RAG_QUESTIONS)]
        predict(self, body, kind="rag")
