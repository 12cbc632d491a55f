"""Give one target (the real Flowise or a mock) what the scripted exchanges need, the same way on each.

Each target gets, through its own API and a full-permission key: a view-only key, an `openAIApi`
credential and the reference flows (the key-bound one bound to a key the script holds). The result
is a `TargetContext` whose variables (`$direct`, `$protected`, ...) the script fills in, so the same
script runs unchanged against servers that hand out different ids.
"""

from __future__ import annotations

import httpx

from conformance.reference.bootstrap import FULL_PERMISSIONS, VIEW_PERMISSIONS, create_api_key
from conformance.reference.exchanges import TargetContext
from conformance.reference.flows import create_credential, create_reference_flows, flow_data

__all__ = ["find_key_id", "prepare_target"]


#: The reference flows a script names by their field of `ReferenceFlows`, which an instance may lack.
OPTIONAL_FLOWS = ("agentflow_llm", "human_input", "condition", "loop", "human_loop", "state", "join", "persist_state",
                  "execute_flow", "execute_missing_flow", "execute_itself", "custom_function", "custom_function_throws",
                  "iteration", "condition_agent")


def find_key_id(client: httpx.Client, api_key: str) -> str | None:
    """The id of an API key, read from `GET /apikey` (None when the server does not list it)."""
    response = client.get("/api/v1/apikey")
    if response.status_code != 200:
        return None
    data = response.json()
    items = data.get("data", []) if isinstance(data, dict) else data
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("apiKey") == api_key and item.get("id"):
            return str(item["id"])
    return None


def prepare_target(
    label: str,
    base_url: str,
    *,
    full_key: str,
    llm_basepath: str,
    view_key: str | None = None,
    full_key_id: str | None = None,
    prefix: str = "fidelity",
    transport: httpx.BaseTransport | None = None,
) -> TargetContext:
    """Create the keys, credential and flows the script needs on one target, and return its context.

    The key-bound flow is bound to the full key when its id can be found; otherwise (a mock's fixed
    admin key need not be listed) to a new full-permission key, which the script then uses as "full".
    """
    headers = {"Authorization": f"Bearer {full_key}"}
    with httpx.Client(base_url=base_url, headers=headers, transport=transport, timeout=30.0) as client:
        key_id = full_key_id or find_key_id(client, full_key)
        if key_id is None:
            bound = create_api_key(client, f"{prefix}-full", FULL_PERMISSIONS)
            full_key, key_id = bound.api_key, bound.id
        if view_key is None:
            view_key = create_api_key(client, f"{prefix}-view", VIEW_PERMISSIONS).api_key
        credential_id = create_credential(client, name=f"{prefix}-openai")
        flows = create_reference_flows(
            client, llm_basepath=llm_basepath, credential_id=credential_id, bound_key_id=key_id, prefix=prefix
        )
    variables = {
        "direct": flows.direct_reply,
        "chatflow_llm": flows.chatflow_llm,
        # a flow this instance could not be given stands in as the Direct Reply flow
        **{name: getattr(flows, name) or flows.direct_reply for name in OPTIONAL_FLOWS},
        "protected": flows.protected,
        "rate_limited": flows.rate_limited,
        "credential_id": credential_id,
        "direct_flow_data": flow_data("direct_reply"),
        # the case matrix's chatflow on a line without agentflows (cases.py)
        "llm_flow_data": flow_data("chatflow_llm", basepath=llm_basepath, credential_id=credential_id),
    }
    return TargetContext(label=label, base_url=base_url, full_key=full_key, view_key=view_key, variables=variables)
