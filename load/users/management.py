"""Management mix: what an admin UI or a CI script does besides chatting.

Lists and reads chatflows, creates and deletes chatflows of its own (named `load-<runid>-...`, so an
operator can recognise and remove leftovers), and reads chat messages. Messages are read filtered by
a chatId this user created with one prediction at start, so the answer stays small however long the
run or however busy the chatflow.
"""

from __future__ import annotations

import json
from collections import deque

from locust import task

from load.users.base import FlowiseUser
from load.users.prediction import predict

__all__ = ["ManagementUser"]

EMPTY_FLOW = json.dumps({"nodes": [], "edges": []})
MAX_OWN_CHATFLOWS = 3


class ManagementUser(FlowiseUser):
    """CRUD on chatflows and chat-message reads, with `name=` grouping so ids do not split the rows."""

    def on_start(self) -> None:
        self.own_chatflows: deque[str] = deque()
        self._created = 0
        predict(self, self.next_question(), kind="prediction")

    def on_stop(self) -> None:
        while self.own_chatflows:
            self.delete_chatflow()

    def _headers(self) -> dict[str, str]:
        return {**self.auth_headers(), "Content-Type": "application/json"}

    @task(4)
    def list_chatflows(self) -> None:
        self.client.get("/api/v1/chatflows", headers=self._headers(), name="/api/v1/chatflows")

    @task(4)
    def get_chatflow(self) -> None:
        self.client.get(f"/api/v1/chatflows/{self.chatflow_id}", headers=self._headers(),
                        name="/api/v1/chatflows/[id]")

    @task(2)
    def read_chat_messages(self) -> None:
        self.client.get(f"/api/v1/chatmessage/{self.chatflow_id}?chatId={self.chat_id}&order=DESC",
                        headers=self._headers(), name="/api/v1/chatmessage/[id]")

    @task(1)
    def create_chatflow(self) -> None:
        if len(self.own_chatflows) >= MAX_OWN_CHATFLOWS:
            self.delete_chatflow()
        self._created += 1
        body = {"name": f"load-{self.run_id}-m{id(self) % 100000}-{self._created}", "type": "CHATFLOW",
                "flowData": EMPTY_FLOW}
        with self.client.post("/api/v1/chatflows", data=json.dumps(body), headers=self._headers(),
                              name="/api/v1/chatflows", catch_response=True) as response:
            try:
                flow_id = response.json()["id"] if response.status_code == 200 else None
            except (ValueError, KeyError, TypeError):
                flow_id = None
            if flow_id:
                self.own_chatflows.append(flow_id)
            elif response.status_code == 200:
                response.failure("created chatflow has no id")

    @task(1)
    def delete_chatflow(self) -> None:
        if not self.own_chatflows:
            return
        flow_id = self.own_chatflows.popleft()
        self.client.delete(f"/api/v1/chatflows/{flow_id}", headers=self._headers(), name="/api/v1/chatflows/[id]")
