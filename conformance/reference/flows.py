"""The reference flows: flowData files a real Flowise 3.1.4 ran offline, made ready for one instance.

The files in `flows/` are the flowData that answered on a real server
(docs/real-flowise.md#reference-flow-files). Two values in them belong to the instance, not to the flow: the
LLM `basepath` (the OpenAI-compatible server this run started) and the id of the `openAIApi` credential
created on this instance. They are patched here, at build time, wherever Flowise reads them:
`inputs.basepath` and `data.credential` / `inputs.credential` of a chatflow node, and `basepath` /
`FLOWISE_CREDENTIAL_ID` of an agentflow node's model config (`llmModelConfig`,
`conditionAgentModelConfig`, ...). Flowise stores flowData as a JSON *string*, so that is what
`flow_data` returns.

Two behaviours of the real server shape `create_reference_flows`: a chatflow-bound key and a rate
limit are set by `PUT` after creation (the limiter is loaded only on update, docs/limits.md#rate-limits).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import httpx

__all__ = [
    "FLOWS",
    "RATE_LIMIT",
    "FlowFile",
    "FlowsError",
    "ReferenceFlows",
    "create_credential",
    "create_flow",
    "create_reference_flows",
    "flow_data",
    "patch_flow",
]

#: A flow id no instance has: what an Execute Flow node calls to fail.
MISSING_FLOW = "00000000-0000-4000-8000-00000000dead"
RATE_LIMIT = {"status": True, "limitMax": "2", "limitDuration": "60", "limitMsg": "Too many requests"}


class FlowsError(RuntimeError):
    """The target refused to create or update a reference flow; the message has status and body."""


@dataclass(frozen=True)
class FlowFile:
    file: str
    type: str
    needs_llm: bool
    #: the folder of `file`: this package's `flows/`, or `data/` of the suite's own fixtures
    folder: tuple[str, str] = ("conformance.reference", "flows")


#: The suite's own fixtures (`conformance/data/`), for flows both the suite and the comparison run.
SUITE_DATA = ("conformance", "data")

FLOWS: dict[str, FlowFile] = {
    "direct_reply": FlowFile("agentflow_direct_reply.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "agentflow_llm": FlowFile("agentflow_llm_fake_openai.flowData.json", "AGENTFLOW", needs_llm=True),
    "chatflow_llm": FlowFile("chatflow_conversation_chain_fake_openai.flowData.json", "CHATFLOW", needs_llm=True),
    "chatflow_minimal": FlowFile("chatflow_minimal_fake_openai.flowData.json", "CHATFLOW", needs_llm=True),
    "human_input": FlowFile("agentflow_human_input.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "condition": FlowFile("agentflow_condition.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "loop": FlowFile("agentflow_loop.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "human_loop": FlowFile("agentflow_human_loop.flowData.json", "AGENTFLOW", needs_llm=False),
    "state": FlowFile("agentflow_state.flowData.json", "AGENTFLOW", needs_llm=False),
    "join": FlowFile("agentflow_join.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "persist_state": FlowFile("agentflow_persist_state.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "execute_flow": FlowFile("agentflow_execute_flow.flowData.json", "AGENTFLOW", needs_llm=False,
                             folder=SUITE_DATA),
    "custom_function": FlowFile("agentflow_custom_function.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "custom_function_throws": FlowFile("agentflow_custom_function_throws.flowData.json", "AGENTFLOW", needs_llm=False),
    "iteration": FlowFile("agentflow_iteration.flowData.json", "AGENTFLOW", needs_llm=False, folder=SUITE_DATA),
    "condition_agent": FlowFile("agentflow_condition_agent.flowData.json", "AGENTFLOW", needs_llm=True),
}


def _read(flow: FlowFile) -> dict[str, Any]:
    package, folder = flow.folder
    return json.loads(resources.files(package).joinpath(folder, flow.file).read_text("utf-8"))


#: An Execute Flow node's `executeFlowSelectedFlow` placeholder for the flow it calls, set at build time.
CALLED_FLOW = "$direct"


def patch_flow(document: dict[str, Any], *, basepath: str | None, credential_id: str | None,
               called_flow: str | None = None) -> dict[str, Any]:
    """Point every LLM node of a flowData document at `basepath` and `credential_id`, and every Execute Flow
    node that calls `CALLED_FLOW` at the flow `called_flow` (in place)."""
    for node in document.get("nodes", []):
        data = node.get("data") or {}
        inputs = data.get("inputs") or {}
        if called_flow is not None and inputs.get("executeFlowSelectedFlow") == CALLED_FLOW:
            inputs["executeFlowSelectedFlow"] = called_flow
        if basepath is not None and "basepath" in inputs:
            inputs["basepath"] = basepath
        if credential_id is not None:
            if "credential" in data:
                data["credential"] = credential_id
            if "credential" in inputs:
                inputs["credential"] = credential_id
        for config in (value for key, value in inputs.items() if key.endswith("ModelConfig")):
            if not isinstance(config, dict):
                continue
            if basepath is not None and "basepath" in config:
                config["basepath"] = basepath
            if credential_id is not None:
                config["FLOWISE_CREDENTIAL_ID"] = credential_id
    return document


def flow_data(name: str, *, basepath: str | None = None, credential_id: str | None = None,
              called_flow: str | None = None) -> str:
    """The flowData of reference flow `name` as the JSON string Flowise stores, instance values patched."""
    document = patch_flow(_read(FLOWS[name]), basepath=basepath, credential_id=credential_id, called_flow=called_flow)
    return json.dumps(document, separators=(",", ":"))


def _json(response: httpx.Response, what: str) -> Any:
    if response.status_code not in (200, 201):
        raise FlowsError(f"{what}: {response.request.method} {response.request.url.path} answered "
                         f"{response.status_code}: {response.text[:300]}")
    try:
        return response.json()
    except ValueError:
        raise FlowsError(f"{what}: the answer is not JSON: {response.text[:200]}") from None


def create_credential(client: httpx.Client, *, name: str = "mock-openai", api_key: str = "sk-mock") -> str:
    """An `openAIApi` credential for the LLM nodes (the mock LLM accepts any key); returns its id."""
    body = {"name": name, "credentialName": "openAIApi", "plainDataObj": {"openAIApiKey": api_key}}
    data = _json(client.post("/api/v1/credentials", json=body), "creating the credential")
    return str(data["id"])


def create_flow(client: httpx.Client, name: str, flow: str, *, flow_data_text: str, **update: Any) -> str:
    """Create one chatflow; any `update` fields (apikeyid, apiConfig, ...) are then sent with PUT."""
    body = {"name": name, "flowData": flow_data_text, "type": FLOWS[flow].type}
    created = _json(client.post("/api/v1/chatflows", json=body), f"creating flow {name!r}")
    identifier = str(created["id"])
    if update:
        _json(client.put(f"/api/v1/chatflows/{identifier}", json=update), f"updating flow {name!r}")
    return identifier


@dataclass(frozen=True)
class ReferenceFlows:
    """The ids of the flows one instance was given."""

    direct_reply: str
    chatflow_llm: str
    protected: str
    rate_limited: str
    agentflow_llm: str | None = None
    human_input: str | None = None
    condition: str | None = None
    loop: str | None = None
    human_loop: str | None = None
    state: str | None = None
    join: str | None = None
    persist_state: str | None = None
    execute_flow: str | None = None
    execute_missing_flow: str | None = None
    execute_itself: str | None = None
    custom_function: str | None = None
    custom_function_throws: str | None = None
    iteration: str | None = None
    condition_agent: str | None = None

    def answering(self) -> list[str]:
        """The flows the suite may use freely (not the key-bound or rate-limited ones)."""
        return [self.direct_reply, self.chatflow_llm]

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def create_reference_flows(
    client: httpx.Client,
    *,
    llm_basepath: str,
    credential_id: str,
    bound_key_id: str,
    prefix: str = "reference",
    with_agentflow_llm: bool = True,
) -> ReferenceFlows:
    """Create the reference flows through `client` (authorised with a full API key or a session)."""
    direct = flow_data("direct_reply")
    llm = {"basepath": llm_basepath, "credential_id": credential_id}
    direct_id = create_flow(client, f"{prefix}-direct-reply", "direct_reply", flow_data_text=direct)
    itself = create_flow(client, f"{prefix}-execute-itself", "execute_flow", flow_data_text=flow_data("execute_flow"))
    _json(client.put(f"/api/v1/chatflows/{itself}", json={"flowData": flow_data("execute_flow", called_flow=itself)}),
          "pointing the self-calling flow at itself")
    return ReferenceFlows(
        direct_reply=direct_id,
        chatflow_llm=create_flow(
            client, f"{prefix}-conversation-chain", "chatflow_llm", flow_data_text=flow_data("chatflow_llm", **llm)
        ),
        protected=create_flow(
            client, f"{prefix}-direct-reply-keyed", "direct_reply", flow_data_text=direct, apikeyid=bound_key_id
        ),
        rate_limited=create_flow(
            client,
            f"{prefix}-direct-reply-rate-limited",
            "direct_reply",
            flow_data_text=direct,
            apiConfig=json.dumps({"rateLimit": RATE_LIMIT}),
        ),
        agentflow_llm=create_flow(
            client, f"{prefix}-agentflow-llm", "agentflow_llm", flow_data_text=flow_data("agentflow_llm", **llm)
        )
        if with_agentflow_llm
        else None,
        human_input=create_flow(client, f"{prefix}-human-input", "human_input", flow_data_text=flow_data("human_input")),
        condition=create_flow(client, f"{prefix}-condition", "condition", flow_data_text=flow_data("condition")),
        loop=create_flow(client, f"{prefix}-loop", "loop", flow_data_text=flow_data("loop")),
        human_loop=create_flow(client, f"{prefix}-human-loop", "human_loop", flow_data_text=flow_data("human_loop")),
        state=create_flow(client, f"{prefix}-state", "state", flow_data_text=flow_data("state")),
        join=create_flow(client, f"{prefix}-join", "join", flow_data_text=flow_data("join")),
        persist_state=create_flow(client, f"{prefix}-persist-state", "persist_state",
                                  flow_data_text=flow_data("persist_state")),
        execute_flow=create_flow(client, f"{prefix}-execute-flow", "execute_flow",
                                 flow_data_text=flow_data("execute_flow", called_flow=direct_id)),
        execute_missing_flow=create_flow(client, f"{prefix}-execute-missing-flow", "execute_flow",
                                         flow_data_text=flow_data("execute_flow", called_flow=MISSING_FLOW)),
        execute_itself=itself,
        custom_function=create_flow(client, f"{prefix}-custom-function", "custom_function",
                                    flow_data_text=flow_data("custom_function")),
        custom_function_throws=create_flow(client, f"{prefix}-custom-function-throws", "custom_function_throws",
                                           flow_data_text=flow_data("custom_function_throws")),
        iteration=create_flow(client, f"{prefix}-iteration", "iteration", flow_data_text=flow_data("iteration")),
        condition_agent=create_flow(client, f"{prefix}-condition-agent", "condition_agent",
                                    flow_data_text=flow_data("condition_agent", **llm))
        if with_agentflow_llm
        else None,
    )
