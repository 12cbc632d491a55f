"""The standard case matrix: for every operation of the spec, the same cases, generated from the spec.

`exchanges.SCRIPT` holds the exchanges someone thought of; this module holds the ones nobody has to
think of. For each operation it reads the spec (path parameters and what they name, the request body's
media types, example, required fields and property types, the security requirements and the
`x-flowise-permission` list) and builds, as `exchanges.Step`s the fidelity comparison sends, normalises
and compares like any other:

| case | what is sent |
|---|---|
| no key | the happy request without a key (operations that need one) |
| wrong key | the happy request with an unknown key |
| under-privileged key | the happy request with the view-only key (`chatflows:view`), where the operation's permissions do not include it |
| happy path | valid ids of resources the case created, the spec's first JSON example as the body |
| duplicate create | the happy create sent again (collection creates) |
| repeated call | the happy request sent again (every other operation; a delete deletes twice) |
| unknown id | the first id parameter replaced by `MISSING_ID` (an API key parameter by an unknown key) |
| malformed id | the first `format: uuid` parameter replaced by `not-a-uuid` |
| missing required field | the example body without its first required field |
| wrong type | the example body with one field of a type its schema does not allow |
| empty body | `{}` |
| no body | no body at all |
| wrong content type | the example body as `text/plain` |

A case that makes no sense for an operation is left out with its reason (`Case.reason`): no body means
no body cases, a public operation has no "no key" case, and so on. Resources: before its cases an
operation gets, by setup steps of its own, every resource its parameters and body name (a chatflow
with the Direct Reply flowData, a prediction on it for a chat and a message, a tool, a store, ...),
created through the spec's own create operation and example, so a destructive case only ever touches
what the operation created (never the reference flows). The credential of the target (`$credential_id`)
is only read. Operations whose success needs an embeddings service, a vector store or a processed
document loader, or a file upload, are restricted to their error and auth cases (`NEEDS_SERVICES`).

The order is fixed (spec order; per operation: setup, then the cases in `CASES` order) and every value comes from the spec or a constant, so the matrix is
deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.reference.bootstrap import VIEW_PERMISSIONS
from conformance.reference.exchanges import BOGUS_KEY, MISSING_ID, Step
from contract.spec import (
    iter_operations,
    key_optional,
    permissions,
    public,
    read_document,
    resolve,
    upstream_ids,
)

__all__ = [
    "CASES",
    "MALFORMED_ID",
    "NEEDS_SERVICES",
    "Case",
    "OperationInfo",
    "build_matrix",
    "case_steps",
    "operations",
]

MALFORMED_ID = "not-a-uuid"
#: Every standard case, in the order an operation's cases are sent.
#: Auth cases come before the happy path (a delete still has its resource), the rest after it (a create
#: the happy path made first is not turned into a duplicate by a lenient server).
CASES: tuple[str, ...] = (
    "no key", "wrong key", "under-privileged key", "happy path", "duplicate create", "repeated call",
    "unknown id", "malformed id", "missing required field", "wrong type", "empty body", "no body",
    "wrong content type",
)
#: Operations whose success needs what a test instance does not have: only their error and auth cases run.
NEEDS_SERVICES: Mapping[str, str] = {
    "vectorUpsert": "a flow with a vector store and an embeddings service",
    "previewFileChunks": "a document loader component run by the server",
    "processLoader": "a document loader entry and an embeddings service",
    "deleteLoaderFromDocumentStore": "a processed document loader entry",
    "getDocumentStoreFileChunks": "a processed document loader entry",
    "editDocumentStoreFileChunk": "a processed document loader entry and its chunks",
    "deleteDocumentStoreFileChunk": "a processed document loader entry and its chunks",
    "upsertDocument": "an embeddings service and a vector store",
    "refreshDocument": "a processed document loader entry, an embeddings service and a vector store",
    "queryVectorStore": "an embeddings service and an upserted vector store",
    "deleteVectorStoreFromStore": "an upserted vector store",
    "createAttachment": "a file upload to a chatflow that accepts files",
}
#: What a path parameter names, by the start of its spec description (else by its name).
_KINDS_BY_DESCRIPTION = (
    ("chatflow id", "chatflow"), ("assistant id", "assistant"), ("tool id", "tool"), ("variable id", "variable"),
    ("document store id", "store"), ("api key id", "apikey"), ("credential id", "credential"),
    ("feedback id", "feedback"), ("the api key itself", "key"),
)
_KINDS_BY_NAME = {"chatflowid": "chatflow", "chatid": "chat", "apikey": "key", "lastupdateddatetime": "date",
                  "pageno": "page"}
#: The operation that creates each kind of resource, and what the created resource is captured by.
_PRODUCERS = {
    "chatflow": "createChatflow", "assistant": "createAssistant", "tool": "createTool", "variable": "createVariable",
    "store": "createDocumentStore", "apikey": "createApiKey", "credential": "createCredential",
    "feedback": "createChatMessageFeedback",
}
#: Body fields that name another resource: the kind they name.
_REFERENCES = {"chatflowid": "chatflow", "chatflowId": "chatflow", "chatId": "chat", "messageId": "message",
               "storeId": "store", "credential": "credential"}
#: Fields whose example value would make the happy request depend on something outside the case.
_DROPPED = {"apikeyid"}
#: Values that are not ids: always filled the same.
_FIXED = {"date": "2020-01-01T00:00:00.000Z", "page": "1"}


@dataclass(frozen=True)
class OperationInfo:
    """What the matrix reads from the spec for one operation."""

    operation_id: str
    method: str
    path: str
    family: str
    #: path parameter name → what it names (`chatflow`, `tool`, ..., `chat`, `key`, `date`, `page`) or "" (unknown)
    params: Mapping[str, str]
    uuid_params: tuple[str, ...]
    json_body: bool
    body_required: bool
    multipart_only: bool
    example: Any
    required: tuple[str, ...]
    properties: Mapping[str, Any]
    security: str  # "public", "optional" or "key"
    permissions: tuple[str, ...]
    upstream: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One cell of the matrix: its steps (setup rows carry case "setup"), or the reason it is left out."""

    operation: str
    case: str
    steps: tuple[Step, ...] = ()
    reason: str = ""

    @property
    def sent(self) -> bool:
        return bool(self.steps)


def _deref(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(document, node["$ref"])
    return node


def _merged(document: dict[str, Any], schema: Any) -> tuple[list[str], dict[str, Any]]:
    """Required fields and properties of a schema, `allOf` parts merged."""
    schema = _deref(document, schema) or {}
    required = list(schema.get("required") or ())
    properties = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or ():
        more_required, more_properties = _merged(document, part)
        required += [name for name in more_required if name not in required]
        properties.update(more_properties)
    return required, {name: _deref(document, value) for name, value in properties.items()}


def _first_example(document: dict[str, Any], media: Mapping[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    for example in (media.get("examples") or {}).values():
        return _deref(document, example).get("value")
    return None


def _kind(param: Mapping[str, Any]) -> str:
    description = str(param.get("description") or "").strip().lower()
    for prefix, kind in _KINDS_BY_DESCRIPTION:
        if description.startswith(prefix):
            return kind
    return _KINDS_BY_NAME.get(str(param["name"]).lower(), "")


def operations(document: dict[str, Any] | None = None, line: str | None = "3.1") -> list[OperationInfo]:
    """Every operation of the spec, in document order, as the matrix sees it."""
    document = document or read_document()
    found: list[OperationInfo] = []
    for method, path, raw in iter_operations(document):
        item = document["paths"][path]
        params = [_deref(document, p) for p in [*(item.get("parameters") or ()), *(raw.get("parameters") or ())]]
        in_path = [p for p in params if p.get("in") == "path"]
        body = _deref(document, raw.get("requestBody")) or {}
        content = body.get("content") or {}
        media = content.get("application/json")
        required, properties = _merged(document, media.get("schema")) if media else ([], {})
        security = "public" if public(raw, document) else "optional" if key_optional(raw, document) else "key"
        found.append(OperationInfo(
            operation_id=str(raw.get("operationId") or f"{method} {path}"),
            method=method,
            path=path,
            family=str((raw.get("tags") or ["other"])[0]),
            params={str(p["name"]): _kind(p) for p in in_path},
            uuid_params=tuple(str(p["name"]) for p in in_path
                              if (_deref(document, p.get("schema")) or {}).get("format") == "uuid"),
            json_body=media is not None,
            body_required=bool(body.get("required")),
            multipart_only=bool(content) and media is None,
            example=_first_example(document, media) if media else None,
            required=tuple(required),
            properties=properties,
            security=security,
            permissions=tuple(permissions(raw)),
            upstream=tuple(sorted(upstream_ids(raw, line))),
        ))
    return found


# -- values --------------------------------------------------------------------------------------------

def _var(op: OperationInfo, kind: str) -> str:
    return f"{op.operation_id}_{kind}"


def _substitute(op: OperationInfo, body: Any) -> Any:
    """The example body with every field that names a resource pointing at the case's own resource."""
    if not isinstance(body, dict):
        return body
    filled: dict[str, Any] = {}
    for key, value in body.items():
        if key in _DROPPED:
            continue
        kind = _REFERENCES.get(key)
        if kind == "credential":
            filled[key] = "$credential_id"
        elif kind is not None:
            filled[key] = "$" + _var(op, kind)
        else:
            filled[key] = value
    return filled


def _body_kinds(op: OperationInfo) -> set[str]:
    body = op.example if isinstance(op.example, dict) else {}
    return {_REFERENCES[key] for key in body if key in _REFERENCES} - {"credential"}


def _needed(op: OperationInfo) -> list[str]:
    """The kinds of resource this operation's cases need, each after what it depends on."""
    kinds = {kind for kind in op.params.values() if kind in _PRODUCERS or kind == "chat"} | _body_kinds(op)
    if "feedback" in kinds or "message" in kinds:
        kinds |= {"chat"}
    if "chat" in kinds:
        kinds |= {"chatflow"}
    order = ["chatflow", "chat", "message", "feedback", "tool", "variable", "assistant", "store", "apikey", "credential"]
    return [kind for kind in order if kind in kinds and kind != "message"]


def _wrong_value(schema: Mapping[str, Any]) -> Any:
    """A value of a JSON type the property's schema does not allow."""
    declared = schema.get("type")
    allowed = set(declared if isinstance(declared, list) else [declared] if declared else [])
    if "integer" in allowed:
        allowed.add("number")
    for value, kind in ((12345, "number"), ("not-a-list", "string"), (["x"], "array"), ({"x": 1}, "object")):
        if kind not in allowed:
            return value
    return None


# -- the matrix ------------------------------------------------------------------------------------------

#: The chatflow every operation's setup creates: a Direct Reply agentflow; on a line without agentflows (2.2,
#: whose predictions of one fail) the ChatOpenAI + Buffer Memory + Conversation Chain chatflow on the mock LLM.
_CASE_FLOW = ("$direct_flow_data", "AGENTFLOW")
_CASE_FLOW_BY_LINE = {"2.2": ("$llm_flow_data", "CHATFLOW")}


class _Builder:
    def __init__(self, op: OperationInfo, producers: Mapping[str, OperationInfo], line: str | None = None) -> None:
        self.op = op
        self.producers = producers
        self.flow_data, self.flow_type = _CASE_FLOW_BY_LINE.get(line or "", _CASE_FLOW)

    def step(self, case: str, *, name: str | None = None, path: str | None = None, auth: str | None = None,
             body: Any = None, raw: str | None = None, headers: Mapping[str, str] | None = None,
             check: str = "fidelity") -> Step:
        op = self.op
        return Step(
            name=f"{op.operation_id}: {name or case}",
            family=op.family,
            operation=op.operation_id,
            method=op.method,
            path=path or self.path(),
            json=body,
            raw=raw,
            auth=auth or ("full" if op.security == "key" else "none"),
            deviations=op.upstream,
            check=check,
            headers=dict(headers or {}),
            case=case,
        )

    def value(self, name: str, kind: str) -> str | None:
        if kind in _FIXED:
            return _FIXED[kind]
        if kind == "key":
            return "$full_key"
        if kind in _PRODUCERS or kind == "chat":
            return "$" + _var(self.op, kind)
        return None

    def path(self, replace: tuple[str, str] | None = None) -> str:
        path = self.op.path
        for name, kind in self.op.params.items():
            if replace is not None and name == replace[0]:
                value: str | None = replace[1]
            else:
                value = self.value(name, kind) or MISSING_ID
            path = path.replace("{" + name + "}", value)
        return path

    def unresolved(self) -> list[str]:
        return [name for name, kind in self.op.params.items() if self.value(name, kind) is None]

    def happy_body(self) -> Any:
        return _substitute(self.op, self.op.example) if self.op.json_body else None

    def setup(self) -> list[Step]:
        steps: list[Step] = []
        op = self.op
        for kind in _needed(op):
            var = _var(op, kind)
            if kind == "chat":
                steps.append(Step(f"{op.operation_id}: setup: a prediction", "prediction", "createPrediction", "POST",
                                  f"/prediction/${_var(op, 'chatflow')}", json={"question": "hi"}, auth="none",
                                  capture={var: "chatId", _var(op, "message"): "chatMessageId"}, case="setup"))
                continue
            producer = self.producers[_PRODUCERS[kind]]
            body = _substitute(op, producer.example)
            capture = "id"
            if kind == "chatflow":
                body = {**body, "name": f"case-{op.operation_id}", "flowData": self.flow_data, "type": self.flow_type}
            elif kind == "apikey":
                body = {**body, "keyName": f"case-{op.operation_id}"}
                capture = f"[keyName=case-{op.operation_id}].id"
            steps.append(Step(f"{op.operation_id}: setup: create a {kind}", producer.family, producer.operation_id,
                              "POST", producer.path, json=body,
                              auth="full" if producer.security == "key" else "none",
                              capture={var: capture}, case="setup"))
        return steps

    def cases(self) -> Iterator[Case]:
        op = self.op
        oid = op.operation_id
        happy_reason = ""
        if oid in NEEDS_SERVICES:
            happy_reason = f"success needs {NEEDS_SERVICES[oid]}: error and auth cases only"
        elif self.unresolved():
            happy_reason = f"no resource the case can create for {', '.join(self.unresolved())}"
        happy = self.happy_body()

        # -- auth
        if op.security == "key":
            yield Case(oid, "no key", (self.step("no key", auth="none", body=happy),))
        else:
            reason = "public: the happy path sends no key" if op.security == "public" else \
                "a key is optional: the happy path sends none"
            yield Case(oid, "no key", reason=reason)
        yield Case(oid, "wrong key", (self.step("wrong key", auth="bogus", body=happy),))
        if op.security != "key":
            yield Case(oid, "under-privileged key", reason="no key is needed")
        elif not op.permissions:
            yield Case(oid, "under-privileged key", reason="no x-flowise-permission: any valid key may call it")
        elif set(op.permissions) & set(VIEW_PERMISSIONS):
            yield Case(oid, "under-privileged key", reason="the view-only key holds a permission the operation accepts")
        else:
            yield Case(oid, "under-privileged key",
                       (self.step("under-privileged key", auth="view", body=happy, check="missing_permission_is_403"),))

        # -- ids
        ids = [name for name, kind in op.params.items() if kind not in _FIXED and kind != "chat"]
        if ids:
            unknown = BOGUS_KEY if op.params[ids[0]] == "key" else MISSING_ID
            yield Case(oid, "unknown id", (self.step("unknown id", path=self.path((ids[0], unknown)), body=happy),))
        else:
            yield Case(oid, "unknown id", reason="no id in the path")
        if op.uuid_params:
            yield Case(oid, "malformed id",
                       (self.step("malformed id", path=self.path((op.uuid_params[0], MALFORMED_ID)), body=happy,
                                  check="malformed_id_is_rejected"),))
        else:
            yield Case(oid, "malformed id", reason="no path parameter of format uuid")

        # -- body
        if not op.json_body:
            reason = "the body is multipart only (files)" if op.multipart_only else "no request body"
            for case in ("missing required field", "wrong type", "empty body", "no body", "wrong content type"):
                yield Case(oid, case, reason=reason)
        else:
            body = happy if isinstance(happy, dict) else {}
            required = [name for name in op.required if name in body]
            if required:
                trimmed = {key: value for key, value in body.items() if key != required[0]}
                yield Case(oid, "missing required field", (self.step(
                    "missing required field", name=f"missing required field ({required[0]})", body=trimmed,
                    check="negative_data_rejection"),))
            else:
                yield Case(oid, "missing required field", reason="the body schema requires no field")
            field = (required or [key for key in body if key in op.properties] or [None])[0]
            wrong = _wrong_value(op.properties.get(field, {})) if field else None
            if field and wrong is not None:
                yield Case(oid, "wrong type", (self.step("wrong type", name=f"wrong type ({field})",
                                                         body={**body, field: wrong}, check="negative_data_rejection"),))
            else:
                yield Case(oid, "wrong type", reason="no field with a declared type in the example")
            yield Case(oid, "empty body", (self.step("empty body", body={}, check="negative_data_rejection"),))
            yield Case(oid, "no body", (self.step("no body", check="unsupported_body_is_refused"),))
            yield Case(oid, "wrong content type", (self.step(
                "wrong content type", raw=json.dumps(happy), headers={"Content-Type": "text/plain"},
                check="unsupported_body_is_refused"),))

        # -- success, then again
        creates = op.method == "POST" and oid.startswith("create") and "{" not in op.path
        if happy_reason:
            yield Case(oid, "happy path", reason=happy_reason)
            yield Case(oid, "duplicate create" if creates else "repeated call", reason=happy_reason)
        else:
            yield Case(oid, "happy path", (self.step("happy path", body=happy),))
            again = "duplicate create" if creates else "repeated call"
            yield Case(oid, again, (self.step(again, body=happy),))
        if creates:
            yield Case(oid, "repeated call", reason="a collection create: its repetition is the duplicate create")
        else:
            yield Case(oid, "duplicate create", reason="not a collection create")


def build_matrix(document: dict[str, Any] | None = None, *, line: str | None = "3.1") -> list[Case]:
    """The whole matrix, in send order: per operation its setup (case "setup") then its cases."""
    ops = operations(document, line)
    producers = {op.operation_id: op for op in ops}
    matrix: list[Case] = []
    for op in ops:
        builder = _Builder(op, producers, line)
        setup = builder.setup()
        if setup:
            matrix.append(Case(op.operation_id, "setup", tuple(setup)))
        cases = {case.case: case for case in builder.cases()}
        matrix += [cases[name] for name in CASES]
    return matrix


def case_steps(matrix: Sequence[Case]) -> list[Step]:
    """Every step of the matrix, in send order (what the fidelity comparison sends)."""
    return [step for case in matrix for step in case.steps]
