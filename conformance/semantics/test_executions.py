"""Agentflow executions: every agentflow run is recorded, can be read back, shared and deleted.

A client that shows a run's trace (the UI's execution view, a monitoring job, a share link) relies on:
the prediction's `executionId` naming an execution that `GET /executions` lists (its agentflow joined)
and `GET /executions/{id}` answers, with the run's state and executed nodes; `PUT {isPublic: true}`
making `GET /public-executions/{id}` answer it without a key, and only then; a delete removing it
(and unlinking its chat messages). Executions came with Flowise 3.0: on an older target these checks are
skipped. The run provisions its own Start → Direct Reply agentflow, so no LLM is involved.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.fixtures import flow_data
from conformance.semantics.support import body_json, create, expect_status, new_chat_id, predict, random_id
from conformance.violations import expect

pytestmark = pytest.mark.flowise(area="executions", tags=("executions", "prediction"), writes=True)


@pytest.fixture
def agentflow(flowise_session, flowise_client, flowise_ledger, flowise_unique) -> str:
    version = flowise_session.version
    if version is not None and version.exact and version.profile.line < (3, 0):
        pytest.skip(f"Flowise {version.version} has no agentflow executions (they came with 3.0)")
    chatflow = create(
        flowise_client,
        flowise_ledger,
        "chatflow",
        {"name": flowise_unique("executions"), "flowData": flow_data("agentflow_direct_reply"), "type": "AGENTFLOW"},
        operation="createChatflow",
    )
    return str(chatflow["id"])


def _run(client, ledger, agentflow: str, question: str) -> tuple[str, str, dict[str, Any]]:
    """One prediction; returns its chat id, its execution id and its answer."""
    chat_id = new_chat_id(ledger, "execution")
    response, answer = predict(client, agentflow, {"question": question, "chatId": chat_id})
    execution_id = answer.get("executionId")
    expect(
        isinstance(execution_id, str) and bool(execution_id),
        check="agentflow_answer_names_its_execution",
        operation="createPrediction",
        message=f"executionId is {execution_id!r}",
        exchange=client.exchange_of(response),
    )
    ledger.claim(execution_id)
    return chat_id, str(execution_id), answer


def test_a_run_is_listed_and_read_with_its_state(flowise_client, flowise_ledger, agentflow) -> None:
    """The run's execution: listed (agentflow joined) for its session, read by id, FINISHED, its executed
    nodes as JSON text."""
    client = flowise_client
    chat_id, execution_id, answer = _run(client, flowise_ledger, agentflow, "trace me")
    listing = client.get("/executions", params={"agentflowId": agentflow, "sessionId": chat_id})
    expect_status(client, listing, 200, check="execution_is_listed", operation="getAllExecutions")
    page = body_json(client, listing, check="execution_is_listed", operation="getAllExecutions")
    items = page.get("data") if isinstance(page, dict) else None
    found = [item for item in items or [] if isinstance(item, dict) and item.get("id") == execution_id]
    expect(
        len(found) == 1 and isinstance(page.get("total"), int) and page["total"] >= 1,
        check="execution_is_listed",
        operation="getAllExecutions",
        message=f"execution {execution_id} not in {[i.get('id') for i in items or [] if isinstance(i, dict)]}",
        exchange=client.exchange_of(listing),
    )
    joined = found[0].get("agentflow")
    expect(
        isinstance(joined, dict) and joined.get("id") == agentflow,
        check="execution_list_joins_the_agentflow",
        operation="getAllExecutions",
        message=f"agentflow is {joined!r}"[:300],
        exchange=client.exchange_of(listing),
    )
    response = client.get(f"/executions/{execution_id}")
    expect_status(client, response, 200, check="execution_is_read", operation="getExecutionById")
    execution = body_json(client, response, check="execution_is_read", operation="getExecutionById")
    expect(
        isinstance(execution, dict) and execution.get("id") == execution_id and execution.get("state") == "FINISHED"
        and execution.get("agentflowId") == agentflow and execution.get("sessionId") == chat_id,
        check="execution_has_the_run_state",
        operation="getExecutionById",
        message=f"id, state, agentflowId, sessionId: {[execution.get(k) for k in ('id', 'state', 'agentflowId', 'sessionId')]}"
        if isinstance(execution, dict) else f"answered {execution!r}",
        exchange=client.exchange_of(response),
    )
    try:
        executed = json.loads(execution.get("executionData") or "null")
    except (TypeError, ValueError):
        executed = None
    answered = [n.get("nodeId") for n in answer.get("agentFlowExecutedData") or [] if isinstance(n, dict)]
    stored = [n.get("nodeId") for n in executed or [] if isinstance(n, dict)] if isinstance(executed, list) else None
    expect(
        stored == answered and bool(stored),
        check="execution_data_is_the_run",
        operation="getExecutionById",
        message=f"executionData nodes {stored!r}; the answer's agentFlowExecutedData nodes {answered!r}",
        exchange=client.exchange_of(response),
    )


def test_a_shared_execution_is_public(flowise_client, flowise_ledger, agentflow) -> None:
    """Not shared: no public read. `PUT {isPublic: true}`: the public route answers it without a key."""
    client = flowise_client
    _, execution_id, _ = _run(client, flowise_ledger, agentflow, "share me")
    hidden = client.get(f"/public-executions/{execution_id}", auth=None)
    expect_status(client, hidden, 404, check="unshared_execution_is_not_public", operation="getPublicExecutionById")
    response = client.put(f"/executions/{execution_id}", json={"isPublic": True})
    expect_status(client, response, 200, check="execution_is_shared", operation="updateExecution")
    updated = body_json(client, response, check="execution_is_shared", operation="updateExecution")
    expect(
        isinstance(updated, dict) and updated.get("isPublic") is True and updated.get("id") == execution_id,
        check="execution_is_shared",
        operation="updateExecution",
        message=f"answered isPublic {updated.get('isPublic') if isinstance(updated, dict) else updated!r}",
        exchange=client.exchange_of(response),
    )
    public = client.get(f"/public-executions/{execution_id}", auth=None)
    expect_status(client, public, 200, check="shared_execution_is_public", operation="getPublicExecutionById")
    shared = body_json(client, public, check="shared_execution_is_public", operation="getPublicExecutionById")
    expect(
        isinstance(shared, dict) and shared.get("id") == execution_id and shared.get("isPublic") is True
        and "FLOWISE_CREDENTIAL_ID" not in str(shared.get("executionData")),
        check="shared_execution_is_public",
        operation="getPublicExecutionById",
        message=f"answered {str(shared)[:300]}",
        exchange=client.exchange_of(public),
    )


def test_a_deleted_execution_is_gone(flowise_client, flowise_ledger, agentflow) -> None:
    """`DELETE /executions/{id}` and `DELETE /executions {executionIds}` delete; the run's messages no
    longer name the execution; reading it is a 404."""
    client = flowise_client
    chat_id, execution_id, _ = _run(client, flowise_ledger, agentflow, "delete me")
    _expect_one_deleted(client, client.delete(f"/executions/{execution_id}"),
                        check="execution_is_deleted", operation="deleteExecution")
    messages = client.get(f"/chatmessage/{agentflow}", params={"chatId": chat_id})
    expect_status(client, messages, 200, check="deleted_execution_is_unlinked", operation="getAllChatMessages")
    rows = body_json(client, messages, check="deleted_execution_is_unlinked", operation="getAllChatMessages")
    linked = [m.get("executionId") for m in rows or [] if isinstance(m, dict) and m.get("executionId")]
    expect(
        bool(rows) and not linked,
        check="deleted_execution_is_unlinked",
        operation="deleteExecution",
        message=f"{len(rows or [])} messages; still naming an execution: {linked!r}",
        exchange=client.exchange_of(messages),
    )
    gone = client.get(f"/executions/{execution_id}")
    expect_status(client, gone, 404, check="deleted_execution_is_gone", operation="getExecutionById")

    _, second, _ = _run(client, flowise_ledger, agentflow, "delete me too")
    bulk = client.request("DELETE", "/executions", json={"executionIds": [second, random_id()]})
    _expect_one_deleted(client, bulk, check="executions_are_deleted_in_bulk", operation="deleteExecutions")


def _expect_one_deleted(client, response, *, check: str, operation: str) -> None:
    """A delete's answer: 200 `{success: true, deletedCount: 1}`."""
    expect_status(client, response, 200, check=check, operation=operation)
    result = body_json(client, response, check=check, operation=operation)
    expect(
        result == {"success": True, "deletedCount": 1},
        check=check,
        operation=operation,
        message=f"answered {result!r}",
        exchange=client.exchange_of(response),
    )


def test_unknown_execution_is_404(flowise_session, flowise_client) -> None:
    """An execution id that names nothing: 404 (Flowise 3.x wraps it into a 500, `missing-id-500`)."""
    version = flowise_session.version
    if version is not None and version.exact and version.profile.line < (3, 0):
        pytest.skip(f"Flowise {version.version} has no agentflow executions (they came with 3.0)")
    response = flowise_client.get(f"/executions/{random_id()}")
    expect_status(flowise_client, response, 404, check="unknown_execution_is_404", operation="getExecutionById")
