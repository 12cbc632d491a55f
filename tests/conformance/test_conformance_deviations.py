"""The deviation catalogue: loads, matches the spec's upstream ids, and recognises each defect."""

from __future__ import annotations

import json

import pytest

from conformance.exchange import Exchange
from conformance.profile import default_spec_path
from conformance.spec import load_spec
from contract.deviations import Deviations, load_deviations


def exchange(method: str = "GET", status: int | None = 200, body: str = "", **kwargs: object) -> Exchange:
    return Exchange.build(method=method, url="http://flowise/api/v1/x", status=status, response_body=body, **kwargs)  # type: ignore[arg-type]


def flowise_500(message: str) -> str:
    return json.dumps({"statusCode": 500, "success": False, "message": message, "stack": {}})


#: Client errors a real Flowise answered 500 (found by fuzzing it): operation, method, message.
CLIENT_ERRORS_500 = [
    ("createPrediction", "POST", 'Error: predictionsServices.buildChatflow - MIME type "application/octet-stream" '
                                 "is not supported or does not have a valid file extension mapping"),
    ("createPrediction", "POST", "Error: predictionsServices.buildChatflow - File type not allowed: files must have "
                                 "a valid file extension"),
    ("createPrediction", "POST", 'Error: predictionsServices.buildChatflow - Invalid history format. Each history '
                                 'item must have: { role: "apiMessage" | "userMessage", content: string }'),
    ("upsertDocument", "POST", "Error: documentStoreServices.upsertDocStoreMiddleware - Vector store not configured"),
    ("patchDeleteUpsertHistory", "PATCH", "Error: upsertHistoryServices.patchDeleteUpsertHistory - "
                                          "(ids ?? []).filter is not a function"),
    ("createPrediction", "POST", "Error: predictionsServices.buildChatflow - EISDIR: illegal operation on a "
                                 "directory, open '/data/storage/c877d81d/chat-1/'"),  # fuzzing 2.2.8's prediction
]


#: The same on Postgres (reference harness --database postgres, 3.1.4): the database's own words.
POSTGRES_CLIENT_ERRORS_500 = [
    ("getToolById", "GET", 'Error: toolsService.getToolById - invalid input syntax for type uuid: "null,null"'),
    ("createTool", "POST", 'Error: toolsService.createTool - null value in column "name" of relation "tool" '
                           "violates not-null constraint"),
    ("listChatflows", "GET", "Error: chatflowsService.getAllChatflows - bigint out of range"),
    ("createApiKey", "POST", 'invalid byte sequence for encoding "UTF8": 0x00'),
    ("getAllChatMessageFeedback", "GET", "Error: feedbackService.getAllChatMessageFeedback - invalid input syntax "
                                         'for type timestamp: "0NaN-NaN-NaNTNaN:NaN:NaN.NaN+NaN:NaN"'),
    ("getAllExecutions", "GET", "Error: executionsService.getAllExecutions - OFFSET must not be negative"),
]
EMPTY_IDENTIFIER = 'Error: chatflowsService.getChatflowByApiKey - zero-length delimited identifier at or near ' + '"' * 4


@pytest.fixture(scope="module")
def catalogue() -> Deviations:
    return load_deviations()


def test_ids_are_the_specs_upstream_ids(catalogue: Deviations) -> None:
    assert set(catalogue.ids) == load_spec(default_spec_path()).upstream_ids


@pytest.mark.parametrize(
    ("expected", "check", "operation", "evidence"),
    [
        (
            "missing-id-500",
            "unknown_id_is_404",
            "getToolById",
            exchange(status=500, body='{"statusCode":500,"success":false,"message":"Error: toolsService.getToolById - Tool x not found","stack":{}}'),
        ),
        (
            "missing-id-500",
            "unknown_id_is_404",
            "getCredentialById",  # a fuzzed id with a line break, quoted back in the message
            exchange(status=500, body='{"statusCode":500,"success":false,"message":"Error: credentialsService.'
                     'getCredentialById - Credential a\\nb not found","stack":{}}'),
        ),
        (
            "blank-id-412",
            "status_code_conformance",
            "getSinglePublicChatflow",  # a path id of line breaks only, lost by Flowise's URL sanitiser
            exchange(status=412, body='{"statusCode":412,"success":false,"message":"Error: chatflowsController.'
                     'getSinglePublicChatflow - id not provided!","stack":{}}'),
        ),
        (
            "flow-key-500",
            "chatflow_key_is_enforced",
            "createPrediction",
            exchange("POST", 500, '{"statusCode":500,"success":false,"message":"Error: predictionsServices.buildChatflow - Unauthorized","stack":{}}'),
        ),
        (
            "flow-key-500",
            "stream",
            "createPrediction",
            exchange(
                "POST",
                200,
                'message:\ndata:{"event":"error","data":"Error: predictionsServices.buildChatflow - Unauthorized"}\n\n',
                response_headers={"Content-Type": "text/event-stream"},
            ),
        ),
        ("delete-missing-200", "unknown_id_is_404", "deleteVariable", exchange("DELETE", 200, '{"raw":[],"affected":0}')),
        (
            "stream-error-hang",
            "stream_error_answers",
            "createPrediction",
            exchange("POST", None, "", error="timeout: no data for 20.0s", request_body='{"question": "hi", "streaming": true}'),
        ),
        (
            "unknown-route-html",
            "unknown_route_is_404",
            "(unknown route)",
            exchange(status=200, body="<!DOCTYPE html><html>", response_headers={"Content-Type": "text/html; charset=UTF-8"}),
        ),
        (
            "missing-question-accepted",
            "missing_question_is_rejected",
            "createPrediction",
            exchange("POST", 200, '{"text":"Echo: "}', request_body='{"chatId": "c"}'),
        ),
        *(
            ("client-error-500", "not_a_server_error", operation, exchange(method, 500, flowise_500(message)))
            for operation, method, message in CLIENT_ERRORS_500
        ),
        *(
            ("client-error-500", "not_a_server_error", operation, exchange(method, 500, flowise_500(message)))
            for operation, method, message in POSTGRES_CLIENT_ERRORS_500
        ),
        (
            "apikey-chatflows-postgres-500",
            "not_a_server_error",
            "getChatflowByApiKey",
            exchange(status=500, body=flowise_500(EMPTY_IDENTIFIER)),
        ),
        (
            "queue-job-missing-key-500",
            "not_a_server_error",
            "refreshDocument",
            exchange("POST", 500, flowise_500("Error: documentStoreServices.refreshDocStoreMiddleware - Missing key for "
                                              "job bull:flowise-queue-upsertion:38. isFinished")),
        ),
        ("duplicate-feedback-500", "not_a_server_error", "createChatMessageFeedbackForChatflow",
         exchange("POST", 500, flowise_500("Error: feedbackService.createChatMessageFeedbackForChatflow - duplicate key "
                                           'value violates unique constraint "UQ_6352078b5a294f2d22179ea7956"'))),
        ("client-error-500", "not_a_server_error", "createPrediction",
         exchange("POST", 500, flowise_500("Error: predictionsServices.buildChatflow - Question and form cannot be "
                                           "provided at the same time"))),
        ("client-error-500", "not_a_server_error", "updateAssistant",
         exchange("PUT", 500, flowise_500("Error: assistantsService.updateAssistant - Details cannot be empty"))),
        ("client-error-500", "not_a_server_error", "updateAssistant",
         exchange("PUT", 500, flowise_500("Error: assistantsService.updateAssistant - Details must be valid JSON"))),
        (
            "leads-get-workspace-404",
            "lead_is_listed",
            "getAllLeadsForChatflow",
            exchange(status=404, body='{"statusCode":404,"success":false,"message":"Error: leadsController.getAllLeadsForChatflow - workspace undefined not found!","stack":{}}'),
        ),
    ],
)
def test_each_deviation_is_recognised(catalogue: Deviations, expected: str, check: str, operation: str, evidence: Exchange) -> None:
    found = catalogue.classify(check=check, operation=operation, exchange=evidence)
    assert found is not None and found.id == expected


@pytest.mark.parametrize(
    "evidence",
    [
        exchange(status=500, body='{"statusCode":500,"success":false,"message":"TypeError: x is undefined","stack":{}}'),
        exchange(status=500, body='{"statusCode":500,"success":false,"message":"TypeError: handler is not a function","stack":{}}'),
        exchange("DELETE", 200, '{"raw":[],"affected":1}'),
        exchange("POST", None, "", error="timeout", request_body='{"question": "hi"}'),
        exchange(status=404, body='{"statusCode":404,"success":false,"message":"Chatflow x not found","stack":{}}'),
    ],
)
def test_new_defects_are_not_excused(catalogue: Deviations, evidence: Exchange) -> None:
    assert catalogue.classify(check="any", operation="any", exchange=evidence) is None


def test_a_question_with_uploads_is_not_missing(catalogue: Deviations) -> None:
    evidence = exchange("POST", 200, "{}", request_body='{"uploads": [{"type": "url"}]}')
    assert catalogue.classify(check="missing_question_is_rejected", operation="createPrediction", exchange=evidence) is None


def test_no_exchange_no_deviation(catalogue: Deviations) -> None:
    assert catalogue.classify(check="x", operation="y", exchange=None) is None


def test_new_upstream_ids_are_recognised(catalogue: Deviations) -> None:
    missing_field = exchange(
        "POST", 500, '{"statusCode":500,"success":false,"message":"Error: leadsService.createLead - SQLITE_CONSTRAINT: NOT NULL constraint failed: lead.chatflowid","stack":{}}'
    )
    duplicate = exchange(
        "POST", 500, '{"statusCode":500,"success":false,"message":"Error: feedbackService.x - SQLITE_CONSTRAINT: UNIQUE constraint failed","stack":{}}'
    )
    assert catalogue.classify(check="not_a_server_error", operation="createLead", exchange=missing_field).id == "missing-field-500"
    assert catalogue.classify(check="not_a_server_error", operation="createChatMessageFeedback", exchange=duplicate).id == "duplicate-feedback-500"
