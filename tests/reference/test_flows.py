"""The flow builder: instance values patched into the reference flowData, flows created as Flowise wants."""

from __future__ import annotations

import json

import httpx
import pytest
from fake_flowise import FakeFlowise

from conformance.reference.bootstrap import bootstrap
from conformance.reference.flows import (
    FLOWS,
    RATE_LIMIT,
    create_credential,
    create_reference_flows,
    flow_data,
    patch_flow,
)

BASEPATH = "http://127.0.0.1:45678/v1"
CREDENTIAL = "11111111-2222-3333-4444-555555555555"
ORIGINAL_BASEPATH = "http://127.0.0.1:8787/v1"
ORIGINAL_CREDENTIAL = "47301f0e-8559-4133-8f49-88cb681a9ff7"


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_flow_data_is_a_json_string_with_nodes_and_edges(name: str) -> None:
    text = flow_data(name, basepath=BASEPATH, credential_id=CREDENTIAL)
    assert isinstance(text, str)
    document = json.loads(text)
    assert document["nodes"] and document["edges"]
    for node in document["nodes"]:
        assert isinstance(node["data"]["inputParams"], list), "Flowise 500s without inputParams"
        assert isinstance(node["data"]["inputAnchors"], list), "Flowise 500s without inputAnchors"


@pytest.mark.parametrize("name", [name for name, flow in FLOWS.items() if flow.needs_llm])
def test_llm_flows_point_at_the_given_basepath_and_credential(name: str) -> None:
    text = flow_data(name, basepath=BASEPATH, credential_id=CREDENTIAL)
    assert ORIGINAL_BASEPATH not in text
    assert ORIGINAL_CREDENTIAL not in text
    assert BASEPATH in text and CREDENTIAL in text


def test_chatflow_credential_is_patched_where_flowise_reads_it() -> None:
    document = json.loads(flow_data("chatflow_llm", basepath=BASEPATH, credential_id=CREDENTIAL))
    llm = next(node for node in document["nodes"] if node["data"]["name"] == "chatOpenAI")
    assert llm["data"]["credential"] == CREDENTIAL
    assert llm["data"]["inputs"]["credential"] == CREDENTIAL
    assert llm["data"]["inputs"]["basepath"] == BASEPATH


def test_agentflow_llm_config_is_patched() -> None:
    document = json.loads(flow_data("agentflow_llm", basepath=BASEPATH, credential_id=CREDENTIAL))
    config = next(n for n in document["nodes"] if n["data"]["name"] == "llmAgentflow")["data"]["inputs"]["llmModelConfig"]
    assert config["basepath"] == BASEPATH
    assert config["FLOWISE_CREDENTIAL_ID"] == CREDENTIAL


def test_direct_reply_needs_no_llm_and_keeps_its_template() -> None:
    document = json.loads(flow_data("direct_reply"))
    reply = next(n for n in document["nodes"] if n["data"]["name"] == "directReplyAgentflow")["data"]
    assert reply["inputs"]["directReplyMessage"] == "Echo: {{ question }}"
    assert reply["inputParams"][0]["acceptVariable"] is True
    assert "basepath" not in json.dumps(document)


def test_patch_leaves_nodes_without_llm_inputs_alone() -> None:
    document = {"nodes": [{"data": {"inputs": {"memoryKey": "chat_history"}}}], "edges": []}
    assert patch_flow(document, basepath=BASEPATH, credential_id=CREDENTIAL) == {
        "nodes": [{"data": {"inputs": {"memoryKey": "chat_history"}}}],
        "edges": [],
    }


def test_reference_flows_are_created_then_updated_for_key_and_rate_limit(fake: FakeFlowise) -> None:
    keys = bootstrap(fake.url)
    headers = {"Authorization": f"Bearer {keys.full_key.api_key}"}
    with httpx.Client(base_url=fake.url, headers=headers) as client:
        credential = create_credential(client)
        flows = create_reference_flows(client, llm_basepath=BASEPATH, credential_id=credential, bound_key_id=keys.full_key.id)

    stored = fake.state.chatflows
    assert set(flows.answering()) == {flows.direct_reply, flows.chatflow_llm}
    assert stored[flows.protected]["apikeyid"] == keys.full_key.id
    assert json.loads(stored[flows.rate_limited]["apiConfig"]) == {"rateLimit": RATE_LIMIT}
    assert stored[flows.chatflow_llm]["type"] == "CHATFLOW"
    assert stored[flows.direct_reply]["type"] == "AGENTFLOW"
    assert credential in stored[flows.chatflow_llm]["flowData"]
    puts = [r for r in fake.state.requests if r.method == "PUT"]
    assert sorted(r.path.rsplit("/", 1)[1] for r in puts) == sorted([flows.protected, flows.rate_limited,
                                                                     flows.execute_itself])
    # Execute Flow nodes call the flows they were pointed at once those existed: the echo, and themselves
    def called(flow_id: str) -> str:
        nodes = json.loads(stored[flow_id]["flowData"])["nodes"]
        return next(n["data"]["inputs"]["executeFlowSelectedFlow"] for n in nodes if n["data"]["name"] == "executeFlowAgentflow")

    assert called(flows.execute_flow) == flows.direct_reply
    assert called(flows.execute_itself) == flows.execute_itself
    creates = [r for r in fake.state.requests if r.method == "POST" and r.path == "/api/v1/chatflows"]
    assert all("apikeyid" not in r.body and "apiConfig" not in r.body for r in creates)
    credential_body = next(r.body for r in fake.state.requests if r.path == "/api/v1/credentials")
    assert credential_body == {"name": "mock-openai", "credentialName": "openAIApi", "plainDataObj": {"openAIApiKey": "sk-mock"}}
