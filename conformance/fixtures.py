"""The run's own fixtures: resources it creates (and records in the ledger) to have something to test.

On any Flowise, a "Start → Direct Reply" AGENTFLOW answers `Echo: <question>` with no LLM
(docs/agentflows.md#direct-reply), so the suite provisions one instead of needing the operator's chatflow;
when it cannot (read-only run, no key, no permission), it falls back to the chatflow ids it was
given, and when there are none, what needs an answering chatflow is skipped with that reason.

The run never creates what its key could not delete again: a family whose delete is out of the
key's reach is not created at all (`OutOfReach`), so a scoped key leaves nothing behind.
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

import httpx

from conformance.client import TargetClient
from conformance.families import FAMILIES
from conformance.ledger import Ledger
from conformance.permissions import OutOfReach, Reach
from conformance.profile import Capabilities

__all__ = [
    "RETRIEVAL_TEXT",
    "ProvisionError",
    "create_resource",
    "direct_reply_flow_data",
    "flow_data",
    "provision",
    "record_created",
    "retrieval_flow_data",
]

PING_QUESTION = "conformance ping"
#: What the retrieval chatflow's loader holds; the retrieval test asks about it.
RETRIEVAL_TEXT = (
    "The conformance lighthouse stands on Quillsby Point. Its keeper is named Oriel Vantwerp, "
    "and the lamp was first lit in 1887."
)


class ProvisionError(RuntimeError):
    """The target refused to create a fixture; the message says how (status and body)."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


def flow_data(name: str, **replace_text: str) -> str:
    """A flowData shipped in `conformance/data/` as the JSON string Flowise stores, placeholders filled."""
    text = resources.files("conformance").joinpath(f"data/{name}.flowData.json").read_text("utf-8")
    for placeholder, value in replace_text.items():
        text = text.replace(placeholder, json.dumps(value)[1:-1])
    return json.dumps(json.loads(text), separators=(",", ":"))


def direct_reply_flow_data() -> str:
    """The Start → Direct Reply agentflow: answers `Echo: <question>` on any Flowise, no LLM."""
    return flow_data("agentflow_direct_reply")


def retrieval_flow_data(text: str) -> str:
    """Plain Text loader → in-memory vector store → retrieval QA chain returning its sources.

    It needs an LLM and embeddings, so it is provisioned only on the mock (whose fake model stands
    in for both); other targets are judged with the chatflows the operator gives.
    """
    return flow_data("chatflow_retrieval", PLACEHOLDER=text)


def _describe(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path} answered {response.status_code}: {response.text[:200]}"


def record_created(ledger: Ledger, kind: str, item: dict[str, Any]) -> str:
    family = FAMILIES[kind]
    identifier = str(item["id"])
    ledger.record(kind, identifier, family.item_path(identifier), name=family.name_of(item))
    return identifier


def create_resource(client: TargetClient, ledger: Ledger, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a new resource of a family and record it; raises ProvisionError unless it was created.

    `POST /apikey` answers with the list of all keys (docs/auth.md#api-keys): the new one is the
    entry carrying the name sent.
    """
    family = FAMILIES[kind]
    permissions = client.permissions
    if permissions is not None and client.profile.api_key:
        delete = permissions.operation_for("DELETE", family.item)
        if delete is not None and permissions.reach(delete) is Reach.LACKING:
            create = permissions.operation_for("POST", family.collection)
            raise OutOfReach(
                create.operation_id if create else f"POST {family.collection}",
                create.permissions if create else (),
                f"the key could not delete it again: {permissions.why(delete)}",
            )
    response = client.post(family.collection, json=body)
    if response.status_code not in (200, 201):
        raise ProvisionError(_describe(response), response)
    try:
        data = response.json()
    except ValueError:
        raise ProvisionError(_describe(response) + " (not JSON)", response) from None
    if isinstance(data, list):
        wanted = body.get(family.name_field)
        data = next((item for item in data if isinstance(item, dict) and family.name_of(item) == wanted), None)
    if not isinstance(data, dict) or "id" not in data:
        raise ProvisionError(_describe(response) + " (no id in the answer)", response)
    record_created(ledger, kind, data)
    return data


def create_direct_reply_chatflow(client: TargetClient, ledger: Ledger, label: str = "direct-reply") -> dict[str, Any]:
    return create_resource(
        client,
        ledger,
        "chatflow",
        {"name": ledger.name(label), "flowData": direct_reply_flow_data(), "type": "AGENTFLOW"},
    )


def _answers(client: TargetClient, chatflow_id: str) -> tuple[bool, str]:
    try:
        response = client.post(f"/prediction/{chatflow_id}", json={"question": PING_QUESTION})
    except httpx.TransportError as exc:
        return False, f"POST /prediction/{chatflow_id} failed: {exc}"
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 200 and isinstance(data, dict) and isinstance(data.get("text"), str):
        return True, ""
    return False, _describe(response)


def _flow_type(client: TargetClient, chatflow_id: str) -> str | None:
    try:
        response = client.get(f"/chatflows/{chatflow_id}")
    except OutOfReach:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    return data.get("type") if response.status_code == 200 and isinstance(data, dict) else None


def provision(client: TargetClient, ledger: Ledger, capabilities: Capabilities) -> Capabilities:
    """Create the answering chatflow (or adopt a given one) and record what that makes possible."""
    caps = capabilities
    chatflow: str | None = None
    flow_type: str | None = None
    ours = False
    reasons: list[str] = []
    if caps.writes:
        try:
            created = create_direct_reply_chatflow(client, ledger)
        except OutOfReach as exc:
            reasons.append(f"cannot create the Direct Reply agentflow: {exc}")
        except ProvisionError as exc:
            reasons.append(f"cannot create the Direct Reply agentflow: {exc}")
            caps = caps.with_reason("writes", f"the target refused to create a chatflow: {exc}", writes=False)
        else:
            ok, why = _answers(client, created["id"])
            if ok:
                chatflow, flow_type, ours = str(created["id"]), "AGENTFLOW", True
            else:
                reasons.append(f"the provisioned Direct Reply agentflow does not answer: {why}")
    if chatflow is None and not client.profile.read_only:
        for given in client.profile.chatflow_ids:
            ok, why = _answers(client, given)
            if ok:
                chatflow, flow_type = given, _flow_type(client, given)
                break
            reasons.append(f"given chatflow {given} does not answer: {why}")
    if chatflow is None:
        if client.profile.read_only:
            reasons.append("--read-only: no prediction is sent")
        elif not client.profile.chatflow_ids and not caps.writes:
            reasons.append("no chatflow could be created and none was given (--chatflow-id)")
        return caps.with_reason("answering", "; ".join(reasons) or "no answering chatflow")
    caps = replace(caps, answering_chatflow=chatflow, answering_flow_type=flow_type, answering_chatflow_is_ours=ours)
    streaming = client.get(f"/chatflows-streaming/{chatflow}", auth=None)
    try:
        is_streaming = streaming.status_code == 200 and streaming.json().get("isStreaming") is True
    except (ValueError, AttributeError):
        is_streaming = False
    caps = caps.with_reason(
        "streaming", f"GET /chatflows-streaming/{chatflow} does not say isStreaming: true", streaming=is_streaming
    )
    return _provision_llm_flows(client, ledger, caps)


def _memory_answer(client: TargetClient, chatflow_id: str) -> bool:
    try:
        response = client.post(f"/prediction/{chatflow_id}", json={"question": PING_QUESTION})
        return response.status_code == 200 and bool(response.json().get("memoryType"))
    except (httpx.TransportError, ValueError, AttributeError):
        return False


def _provision_llm_flows(client: TargetClient, ledger: Ledger, caps: Capabilities) -> Capabilities:
    """Memory and retrieval need chatflows backed by an LLM: the mock's fake one, or the operator's."""
    memory = next((given for given in client.profile.chatflow_ids if _memory_answer(client, given)), None)
    retrieval: str | None = None
    memory_reason = "no chatflow with a memory node: none given answers with memoryType"
    retrieval_reason = "retrieval needs a chatflow with a vector store the run may upsert into (provisioned on flowise-mock only)"
    if caps.is_mock and caps.writes:
        try:
            created = create_resource(
                client,
                ledger,
                "chatflow",
                {"name": ledger.name("memory"), "flowData": flow_data("chatflow_buffer_memory"), "type": "CHATFLOW"},
            )
            if _memory_answer(client, created["id"]):
                memory = memory or str(created["id"])
            else:
                memory_reason = "the provisioned Buffer Memory chatflow answers without memoryType"
            created = create_resource(
                client,
                ledger,
                "chatflow",
                {"name": ledger.name("retrieval"), "flowData": retrieval_flow_data(RETRIEVAL_TEXT), "type": "CHATFLOW"},
            )
            retrieval = str(created["id"])
        except (ProvisionError, OutOfReach) as exc:
            memory_reason = retrieval_reason = f"cannot create an LLM chatflow: {exc}"
    caps = replace(caps, memory_chatflow=memory, retrieval_chatflow=retrieval)
    return caps.with_reason("memory", memory_reason).with_reason("retrieval", retrieval_reason)
