"""Tests of spec/flowise.openapi.yaml: validity, examples, conventions and seed coverage.

Every failure message names the operation and the JSON pointer at fault. The checks live in
flowise_spec_checks.py so that the "broken copy" tests can prove each of them is able to fail.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from flowise_spec_checks import (
    KNOWN_UPSTREAM_IDS,
    check_event_stream_examples,
    check_examples,
    check_links,
    check_operation_basics,
    check_seed_coverage,
    check_stream_events,
    check_upstream_notes,
    deref,
    escape,
    iter_operations,
    load_spec,
    operation_parameters,
    resolve_pointer,
)
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "spec" / "flowise.openapi.yaml"
SEED_OPERATIONS_PATH = ROOT / "spec" / "seed-operations.txt"

# The operationIds the issue asks for, by tag; the spec may add more, never lose one.
REQUIRED_OPERATIONS = {
    "chatflows": [
        "listChatflows",
        "createChatflow",
        "getChatflowById",
        "updateChatflow",
        "deleteChatflow",
        "getChatflowByApiKey",
        "checkIfChatflowHasChanged",
        "checkIfChatflowIsValidForStreaming",
        "checkIfChatflowIsValidForUploads",
        "getSinglePublicChatbotConfig",
        "getSinglePublicChatflow",
    ],
    "prediction": ["createPrediction"],
    "chatmessage": ["getAllChatMessages", "removeAllChatMessages", "abortChatMessage"],
    "vector": ["vectorUpsert"],
    "assistants": [
        "createAssistant",
        "listAssistants",
        "getAssistantById",
        "updateAssistant",
        "deleteAssistant",
    ],
    "tools": ["createTool", "getAllTools", "getToolById", "updateTool", "deleteTool"],
    "variables": ["createVariable", "getAllVariables", "updateVariable", "deleteVariable"],
    "document-store": [
        "createDocumentStore",
        "getAllDocumentStores",
        "getDocumentStoreById",
        "updateDocumentStore",
        "deleteDocumentStore",
        "previewFileChunks",
        "processLoader",
        "deleteLoaderFromDocumentStore",
        "getDocumentStoreFileChunks",
        "editDocumentStoreFileChunk",
        "deleteDocumentStoreFileChunk",
        "upsertDocument",
        "refreshDocument",
        "queryVectorStore",
        "deleteVectorStoreFromStore",
    ],
    "upsert-history": ["getAllUpsertHistory", "patchDeleteUpsertHistory"],
    "feedback": [
        "createChatMessageFeedback",
        "createChatMessageFeedbackForChatflow",
        "getAllChatMessageFeedback",
        "updateChatMessageFeedbackForChatflow",
    ],
    "leads": ["createLead", "getAllLeadsForChatflow"],
    "attachments": ["createAttachment"],
    "apikey": ["getAllApiKeys", "createApiKey", "updateApiKey", "deleteApiKey", "verifyApiKey"],
    "credentials": [
        "getAllCredentials",
        "createCredential",
        "getCredentialById",
        "updateCredential",
        "deleteCredentials",
    ],
    "ping": ["pingServer"],
    "version": ["getVersion"],
    "metrics": ["getMetrics"],
}

PUBLIC_OPERATIONS = {
    "getChatflowByApiKey",
    "checkIfChatflowIsValidForStreaming",
    "checkIfChatflowIsValidForUploads",
    "getSinglePublicChatbotConfig",
    "getSinglePublicChatflow",
    "abortChatMessage",
    "createChatMessageFeedback",
    "createChatMessageFeedbackForChatflow",
    "getAllChatMessageFeedback",
    "updateChatMessageFeedbackForChatflow",
    "createLead",
    "createAttachment",
    "getPublicExecutionById",
    "verifyApiKey",
    "pingServer",
    "getVersion",
}
CHATFLOW_KEY_OPERATIONS = {"createPrediction", "vectorUpsert"}

# create operation -> operations its 200 response must link to
CREATE_LINKS = {
    "createChatflow": {"getChatflowById", "updateChatflow", "deleteChatflow"},
    "createPrediction": {"getAllChatMessages", "createChatMessageFeedbackForChatflow"},
    "createDocumentStore": {
        "getDocumentStoreById",
        "updateDocumentStore",
        "deleteDocumentStore",
        "upsertDocument",
    },
    "createTool": {"getToolById", "updateTool", "deleteTool"},
    "createAssistant": {"getAssistantById", "updateAssistant", "deleteAssistant"},
    "createVariable": {"updateVariable", "deleteVariable"},
    "createCredential": {"getCredentialById", "updateCredential", "deleteCredentials"},
    "createApiKey": {"getAllApiKeys"},
    "createLead": {"getAllLeadsForChatflow"},
}

SHARED_RESPONSES = {
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "PreconditionFailed",
    "PayloadTooLarge",
    "TooManyRequests",
    "InternalError",
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec(SPEC_PATH)


@pytest.fixture(scope="module")
def operations(spec: dict[str, Any]) -> dict[str, Any]:
    return {o.op["operationId"]: o for o in iter_operations(spec)}


def report(findings: list[str]) -> str:
    return f"{len(findings)} finding(s):\n" + "\n".join(findings)


# --- the document as a whole ----------------------------------------------------------------


def test_spec_validates_as_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_info_and_servers(spec: dict[str, Any]) -> None:
    assert spec["servers"] == [
        {"url": "http://localhost:3000/api/v1", "description": spec["servers"][0]["description"]}
    ]
    info = spec["info"]
    assert info["title"] and info["version"]
    description = info["description"]
    for needle in (
        "Authorization: Bearer",
        "Unauthorized Access",
        "message:\\ndata:",
        ":heartbeat",
        "[DONE]",
    ):
        assert needle in description, f"/info/description does not document {needle!r}"


def test_security_scheme_and_global_requirement(spec: dict[str, Any]) -> None:
    scheme = spec["components"]["securitySchemes"]["bearerApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerApiKey": []}]


def test_schemathesis_loads_the_spec() -> None:
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    loaded = [result.ok() for result in schema.get_all_operations()]
    assert len(loaded) == sum(1 for _ in iter_operations(load_spec(SPEC_PATH)))


# --- examples -------------------------------------------------------------------------------


def test_every_example_matches_its_schema(spec: dict[str, Any]) -> None:
    findings = check_examples(spec)
    assert not findings, report(findings)


def test_every_stream_example_is_made_of_valid_frames(spec: dict[str, Any]) -> None:
    findings = check_event_stream_examples(spec)
    assert not findings, report(findings)


# --- operations -----------------------------------------------------------------------------


def test_operations_have_id_one_tag_summary_and_an_error_response(spec: dict[str, Any]) -> None:
    findings = check_operation_basics(spec)
    assert not findings, report(findings)


def test_required_operations_are_present_under_their_tag(operations: dict[str, Any]) -> None:
    findings = []
    for tag, op_ids in REQUIRED_OPERATIONS.items():
        for op_id in op_ids:
            operation = operations.get(op_id)
            if operation is None:
                findings.append(f"{op_id}: missing (expected under tag {tag!r})")
            elif operation.op["tags"] != [tag]:
                findings.append(
                    f"{operation.label}: {operation.pointer}/tags is {operation.op['tags']}, expected [{tag!r}]"
                )
    assert not findings, report(findings)


def test_security_follows_the_conventions(operations: dict[str, Any]) -> None:
    findings = []
    for op_id, operation in operations.items():
        security = operation.op.get("security")
        ptr = operation.pointer + "/security"
        if op_id in PUBLIC_OPERATIONS:
            if security != []:
                findings.append(f"{operation.label}: {ptr} must be [] (public)")
        elif op_id in CHATFLOW_KEY_OPERATIONS:
            if security != [{}, {"bearerApiKey": []}]:
                findings.append(f"{operation.label}: {ptr} must be [{{}}, {{bearerApiKey: []}}]")
            if operation.op.get("x-flowise-chatflow-key") is not True:
                findings.append(f"{operation.label}: {operation.pointer}/x-flowise-chatflow-key must be true")
        elif security is not None:
            findings.append(f"{operation.label}: {ptr} must be absent (the global bearerApiKey applies)")
    assert not findings, report(findings)


def test_permissions_are_lists_of_resource_actions(operations: dict[str, Any]) -> None:
    findings = []
    for operation in operations.values():
        permissions = operation.op.get("x-flowise-permission")
        if permissions is None:
            continue
        ptr = operation.pointer + "/x-flowise-permission"
        if operation.op.get("security") == []:
            findings.append(f"{operation.label}: {ptr} on a public operation")
        if not isinstance(permissions, list) or not permissions:
            findings.append(f"{operation.label}: {ptr} must be a non-empty list")
            continue
        for index, permission in enumerate(permissions):
            if not isinstance(permission, str) or permission.count(":") != 1:
                findings.append(f"{operation.label}: {ptr}/{index} {permission!r} is not resource:action")
    assert not findings, report(findings)


def test_error_responses_cover_the_failure_modes(spec: dict[str, Any], operations: dict[str, Any]) -> None:
    findings = []
    for operation in operations.values():
        responses = {str(k) for k in operation.op["responses"]}
        ptr = operation.pointer + "/responses"
        params = operation_parameters(spec, operation)
        has_inputs = bool(params) or "requestBody" in operation.op
        expected = {"500"}
        if has_inputs:
            expected.add("400")
        if operation.op.get("security") != []:
            expected.add("401")
        if operation.op.get("x-flowise-permission"):
            expected.add("403")
        if any(p["in"] == "path" and p["name"] != "apikey" for p, _ in params):
            expected.add("404")
        for status in sorted(expected - responses):
            findings.append(f"{operation.label}: {ptr}/{status} is missing")
    assert not findings, report(findings)


def test_prediction_documents_json_and_event_stream(operations: dict[str, Any], spec: dict[str, Any]) -> None:
    operation = operations["createPrediction"]
    for status in ("200", "400", "401", "403", "404", "413", "429", "500"):
        assert status in operation.op["responses"], (
            f"{operation.label}: {operation.pointer}/responses/{status} is missing"
        )
    content = operation.op["responses"]["200"]["content"]
    assert set(content) >= {"application/json", "text/event-stream"}
    stream = content["text/event-stream"]
    assert stream["x-flowise-event-schema"] == {"$ref": "#/components/schemas/PredictionStreamEvent"}
    item = spec["components"]["schemas"][stream["schema"]["$ref"].rsplit("/", 1)[1]]
    assert item["properties"]["data"]["contentMediaType"] == "application/json"
    assert item["properties"]["data"]["contentSchema"] == stream["x-flowise-event-schema"]
    assert set(operation.op["requestBody"]["content"]) == {
        "application/json", "multipart/form-data", "application/x-www-form-urlencoded"}


def test_uploading_operations_accept_multipart(operations: dict[str, Any]) -> None:
    for op_id in ("createPrediction", "vectorUpsert", "upsertDocument", "createAttachment"):
        operation = operations[op_id]
        content = operation.op["requestBody"]["content"]
        assert "multipart/form-data" in content, (
            f"{operation.label}: {operation.pointer}/requestBody lacks multipart/form-data"
        )


# --- shared components ----------------------------------------------------------------------


def test_shared_responses_have_the_flowise_shapes(spec: dict[str, Any]) -> None:
    responses = spec["components"]["responses"]
    missing = SHARED_RESPONSES - set(responses)
    assert not missing, f"/components/responses lacks {sorted(missing)}"
    unauthorized = responses["Unauthorized"]["content"]["application/json"]
    assert [e["value"] for e in unauthorized["examples"].values()] == [{"error": "Unauthorized Access"}]
    forbidden = responses["Forbidden"]["content"]["application/json"]
    assert [e["value"] for e in forbidden["examples"].values()] == [{"message": "Forbidden"}]
    for name in ("BadRequest", "NotFound", "PreconditionFailed", "PayloadTooLarge", "InternalError"):
        schema = responses[name]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/FlowiseError"}, (
            f"/components/responses/{name} must use FlowiseError"
        )
    limited = responses["TooManyRequests"]
    assert set(limited["content"]) == {"text/html"}
    assert set(limited["headers"]) == {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "Retry-After",
    }
    error = spec["components"]["schemas"]["FlowiseError"]
    assert error["required"] == ["statusCode", "success", "message", "stack"]


def test_deletes_answer_a_delete_result(operations: dict[str, Any]) -> None:
    for op_id in (
        "deleteChatflow",
        "deleteTool",
        "deleteAssistant",
        "deleteVariable",
        "deleteApiKey",
        "deleteCredentials",
        "removeAllChatMessages",
        "patchDeleteUpsertHistory",
    ):
        operation = operations[op_id]
        schema = operation.op["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/DeleteResult"}, (
            f"{operation.label}: {operation.pointer}/responses/200"
        )


def test_json_string_columns_are_strings(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    columns = {
        "Chatflow": [
            "flowData",
            "chatbotConfig",
            "apiConfig",
            "analytic",
            "speechToText",
            "followUpPrompts",
            "category",
        ],
        "Assistant": ["details"],
        "Tool": ["schema"],
        "PredictionResponse": ["followUpPrompts"],
    }
    for name, fields in columns.items():
        for field in fields:
            prop, ptr = deref(
                spec, schemas[name]["properties"][field], f"/components/schemas/{name}/properties/{field}"
            )
            types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
            assert set(types) <= {"string", "null"} and "string" in types, (
                f"{ptr} must be a (nullable) string"
            )


# --- links, upstream notes, SSE ---------------------------------------------------------------


def test_links_name_existing_operations(spec: dict[str, Any]) -> None:
    findings = check_links(spec)
    assert not findings, report(findings)


def test_create_operations_link_to_their_followers(spec: dict[str, Any], operations: dict[str, Any]) -> None:
    findings = []
    for op_id, targets in CREATE_LINKS.items():
        operation = operations[op_id]
        links = operation.op["responses"]["200"].get("links") or {}
        linked = {link["operationId"] for link in links.values()}
        for target in sorted(targets - linked):
            findings.append(
                f"{operation.label}: {operation.pointer}/responses/200/links lacks a link to {target}"
            )
    assert not findings, report(findings)


def test_upstream_notes_use_known_ids(spec: dict[str, Any]) -> None:
    findings = check_upstream_notes(spec)
    assert not findings, report(findings)


def test_every_known_upstream_id_is_used(operations: dict[str, Any]) -> None:
    used = {note["id"] for o in operations.values() for note in o.op.get("x-flowise-upstream") or []}
    assert used == KNOWN_UPSTREAM_IDS, f"unused upstream ids: {sorted(KNOWN_UPSTREAM_IDS - used)}"


def test_stream_event_branches_are_unique(spec: dict[str, Any]) -> None:
    findings = check_stream_events(spec)
    assert not findings, report(findings)


def test_stream_events_cover_the_flowise_event_names(spec: dict[str, Any]) -> None:
    names = {
        b["properties"]["event"]["const"]
        for b in resolve_pointer(spec, "/components/schemas/PredictionStreamEvent/oneOf")
    }
    expected = {
        "start",
        "token",
        "sourceDocuments",
        "usedTools",
        "calledTools",
        "fileAnnotations",
        "artifacts",
        "agentReasoning",
        "nextAgent",
        "action",
        "agentFlowEvent",
        "nextAgentFlow",
        "agentFlowExecutedData",
        "usageMetadata",
        "thinking",
        "metadata",
        "error",
        "abort",
        "end",
        "tts_start",
        "tts_data",
        "tts_end",
        "tts_abort",
    }
    assert not expected - names, (
        f"/components/schemas/PredictionStreamEvent/oneOf lacks {sorted(expected - names)}"
    )


# --- seeds ------------------------------------------------------------------------------------


def test_seed_operations_are_covered(spec: dict[str, Any]) -> None:
    findings = check_seed_coverage(spec, SEED_OPERATIONS_PATH.read_text(encoding="utf-8"))
    assert not findings, report(findings)


def test_seed_operations_list_every_seed_file() -> None:
    text = SEED_OPERATIONS_PATH.read_text(encoding="utf-8")
    for seed in (
        "000_1e531e611e8aed76.txt",
        "001_af18b71fe12d1b2c.txt",
        "002_4149c28ddf5e2369.txt",
        "003_2d9e3b124a06a7a7.txt",
        "004_a3c1cdaf89d9d6b0.txt",
    ):
        assert f"# source: {seed}" in text, f"seed-operations.txt has no `# source: {seed}` group"


# --- the checks can fail ------------------------------------------------------------------------


def _op_pointer(path: str, method: str) -> str:
    return f"/paths/{escape(path)}/{method}"


def test_broken_example_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    example = broken["paths"]["/chatflows"]["get"]["responses"]["200"]["content"]["application/json"][
        "examples"
    ]["array"]
    example["value"][0]["name"] = 123  # a number where the schema wants a string
    findings = check_examples(broken)
    expected = (
        _op_pointer("/chatflows", "get") + "/responses/200/content/application~1json/examples/array/value"
    )
    assert any("listChatflows" in f and expected in f and "is not of type 'string'" in f for f in findings), (
        report(findings)
    )


def test_broken_shared_example_names_where_it_is_used(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    broken["components"]["examples"]["ToolExample"]["value"]["id"] = "not-a-uuid"
    findings = check_examples(broken)
    assert any(
        "getToolById" in f
        and "/components/examples/ToolExample/value/id" in f
        and "used at /paths/~1tools~1{id}/get" in f
        for f in findings
    ), report(findings)


def test_broken_parameter_example_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    broken["components"]["parameters"]["Page"]["example"] = 0  # below minimum 1
    findings = check_examples(broken)
    assert any("listChatflows" in f and "/components/parameters/Page/example" in f for f in findings), report(
        findings
    )


def test_missing_example_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    del broken["paths"]["/version"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]
    findings = check_examples(broken)
    assert any("getVersion" in f and "no example" in f for f in findings), report(findings)


def test_broken_stream_example_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    media = broken["paths"]["/prediction/{id}"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    media["examples"]["chatflow"]["value"] += 'message:\ndata:{"event":"end","data":"done"}\n\n'
    findings = check_event_stream_examples(broken)
    assert any("createPrediction" in f and "examples/chatflow/value" in f for f in findings), report(findings)


def test_a_stream_schema_schemathesis_cannot_read_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    media = broken["paths"]["/prediction/{id}"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    media["schema"] = {"type": "string"}
    del media["examples"]
    findings = check_event_stream_examples(broken)
    assert any("createPrediction" in f and "contentSchema" in f for f in findings), report(findings)
    assert any("createPrediction" in f and "no example" in f for f in findings), report(findings)


def test_broken_structure_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    op = broken["paths"]["/tools"]["get"]
    op["tags"] = ["tools", "extra"]
    op["operationId"] = "createTool"
    op["responses"] = {"200": op["responses"]["200"]}
    findings = check_operation_basics(broken)
    ptr = _op_pointer("/tools", "get")
    assert any(f"{ptr}/tags" in f for f in findings), report(findings)
    assert any(f"{ptr}/operationId duplicates" in f or "/operationId duplicates" in f for f in findings), (
        report(findings)
    )
    assert any(f"{ptr}/responses has no 4xx/5xx" in f for f in findings), report(findings)


def test_broken_link_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    links = broken["paths"]["/tools"]["post"]["responses"]["200"]["links"]
    links["GetToolById"]["operationId"] = "getToolByName"
    links["UpdateTool"]["parameters"] = {"toolId": "$response.body#/id"}
    findings = check_links(broken)
    ptr = _op_pointer("/tools", "post") + "/responses/200/links"
    assert any("createTool" in f and f"{ptr}/GetToolById/operationId" in f for f in findings), report(
        findings
    )
    assert any(f"{ptr}/UpdateTool/parameters/toolId" in f for f in findings), report(findings)


def test_unknown_upstream_id_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    broken["paths"]["/tools/{id}"]["get"]["x-flowise-upstream"][0]["id"] = "tools-are-slow"
    findings = check_upstream_notes(broken)
    assert any("getToolById" in f and "/x-flowise-upstream/0/id" in f for f in findings), report(findings)


def test_duplicate_stream_event_is_caught(spec: dict[str, Any]) -> None:
    broken = copy.deepcopy(spec)
    branches = broken["components"]["schemas"]["PredictionStreamEvent"]["oneOf"]
    branches.append(copy.deepcopy(branches[1]))
    findings = check_stream_events(broken)
    assert any("'token'" in f and "repeats" in f for f in findings), report(findings)


def test_uncovered_seed_operation_is_caught(spec: dict[str, Any]) -> None:
    text = (
        "# source: made-up.txt\nGET /health\nPOST /chatflows -> getChatflowById\nGET /nope -> nopeOperation\n"
    )
    findings = check_seed_coverage(spec, text)
    assert any("made-up.txt) get /health" in f and "no spec operation covers it" in f for f in findings), (
        report(findings)
    )
    assert any("maps to getChatflowById, which is GET /chatflows/{id}" in f for f in findings), report(
        findings
    )
    assert any("'nopeOperation'" in f for f in findings), report(findings)
