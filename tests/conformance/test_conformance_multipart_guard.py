"""On a release whose multer stops the server on a malformed multipart body, schemathesis gets no multipart."""

from __future__ import annotations

import copy

from conformance.profile import default_spec_path
from conformance.schema.runner import without_multipart
from conformance.spec import load_spec
from conformance.version import PROFILES


def test_only_the_releases_with_the_old_multer_are_protected() -> None:
    assert {profile.name for profile in PROFILES if profile.multipart_crashes} == {"flowise-2.2"}


def test_multipart_leaves_the_document_and_lone_multipart_operations_are_named() -> None:
    document = copy.deepcopy(load_spec(default_spec_path()).document)
    had = {operation["operationId"]: set(operation["requestBody"]["content"])
           for item in document["paths"].values() for operation in item.values()
           if isinstance(operation, dict) and "content" in operation.get("requestBody", {})}
    alone = without_multipart(document)
    after = {operation["operationId"]: set(operation["requestBody"]["content"])
             for item in document["paths"].values() for operation in item.values()
             if isinstance(operation, dict) and "content" in operation.get("requestBody", {})}
    assert not any("multipart/form-data" in media for media in after.values())
    assert set(alone) == {op for op, media in had.items() if media == {"multipart/form-data"}}
    assert "createAttachment" in alone and "createPrediction" not in alone
    assert after["createPrediction"] == had["createPrediction"] - {"multipart/form-data"} != set()


def test_the_2_2_line_is_sent_no_api_key_write() -> None:
    by_name = {profile.name: profile for profile in PROFILES}
    left_out = by_name["flowise-2.2"].left_out()
    assert set(left_out) == {"createApiKey", "updateApiKey", "deleteApiKey"}
    assert all("api-key-file-race" in reason for reason in left_out.values())
    assert by_name["flowise-3.1"].left_out() == {} == by_name["flowise-3.0"].left_out()
