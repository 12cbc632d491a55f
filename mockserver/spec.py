"""The spec as the mock reads it: an operation index plus request and response validators.

Everything the mock knows about paths, parameters, bodies, security and permissions comes from
``spec/flowise.openapi.yaml`` through this module (docs/README.md#the-spec-drives-everything). Schemas are
validated with jsonschema (Draft 2020-12, the dialect of OpenAPI 3.1) against the whole document, so
``$ref``s resolve exactly as every other reader of the spec resolves them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contract import spec as contract
from contract.spec import (
    DEFAULT_SPEC_PATH,
    METHODS,
    SPEC_URI,
    SpecFileError,
    add_flowise_formats,
    read_document,
)

__all__ = ["DEFAULT_SPEC_PATH", "Operation", "Parameter", "Spec", "SpecError", "load_spec"]

_SPEC_URI = SPEC_URI
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

FORMATS = add_flowise_formats(FormatChecker())


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(_UUID.match(value))


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value or " " in value


def _fast_check(check: Any, raises: Any) -> Any:
    def accepts(value: str) -> bool:
        try:
            return bool(check(value))
        except raises:
            return False
    return accepts


_FAST_FORMATS = {name: _fast_check(check, raises) for name, (check, raises) in FORMATS.checkers.items()}


class SpecError(Exception):
    """The spec file cannot be used (missing, unparsable, or inconsistent with the mock)."""


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    required: bool
    schema: dict[str, Any]
    pointer: str  # JSON pointer of the parameter's schema in the spec


@dataclass
class Operation:
    """One spec operation, with what the mock needs to serve it."""

    operation_id: str
    method: str  # upper case
    path: str  # the spec's template, relative to /api/v1
    tag: str
    pointer: str  # JSON pointer of the operation object
    raw: dict[str, Any]
    parameters: list[Parameter] = field(default_factory=list)
    body_required: bool = False
    body_media: dict[str, str] = field(default_factory=dict)  # media type -> schema pointer
    responses: dict[str, dict[str, str | None]] = field(default_factory=dict)  # status -> media -> pointer

    @cached_property
    def public(self) -> bool:
        """No credentials needed: ``security: []``, or a key only optional (``{}`` among the requirements)."""
        if "security" not in self.raw:  # the document's global requirement: a key
            return False
        return contract.public(self.raw, {}) or contract.key_optional(self.raw, {})

    @cached_property
    def permissions(self) -> list[str]:
        return contract.permissions(self.raw)

    @cached_property
    def chatflow_key(self) -> bool:
        return contract.chatflow_key(self.raw)

    @property
    def upstream_ids(self) -> set[str]:
        return contract.upstream_ids(self.raw)

    def upstream_ids_for(self, line: str | None) -> set[str]:
        """The notes that hold on release line ``line`` (``3.0``); ``None``: every note."""
        return contract.upstream_ids(self.raw, line)

    @cached_property
    def query_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters if p.location == "query"]

    def documents(self, status: int) -> bool:
        return str(status) in self.responses or f"{str(status)[0]}XX" in self.responses or "default" in self.responses


class Spec:
    """A loaded spec: ``operations`` by operationId, and cached validators per schema pointer."""

    def __init__(self, document: dict[str, Any], *, source: str = "<memory>") -> None:
        self.document = document
        self.source = source
        self._registry: Registry = Registry().with_resource(
            _SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self._validators: dict[str, Draft202012Validator] = {}
        self._fast_registry = jsonschema_rs.Registry([(_SPEC_URI, document)], draft=jsonschema_rs.Draft202012)
        self._fast: dict[str, Any] = {}
        self.operations: dict[str, Operation] = {}
        self._index()
        #: parameter schemas that are exactly ``{type: string, format: uuid}``
        self._uuid_pointers = {p.pointer for op in self.operations.values() for p in op.parameters
                               if p.schema == {"type": "string", "format": "uuid"}}

    @cached_property
    def raw_bytes(self) -> bytes:
        return json.dumps(self.document).encode()

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", ""))

    def _index(self) -> None:
        paths = self.document.get("paths") or {}
        if not paths:
            raise SpecError(f"{self.source}: the spec has no paths")
        for template, item in paths.items():
            shared = item.get("parameters", [])
            for method in METHODS:
                op = item.get(method)
                if op is None:
                    continue
                pointer = f"/paths/{_escape(template)}/{method}"
                op_id = op.get("operationId")
                if not op_id:
                    raise SpecError(f"{self.source}: {method.upper()} {template} ({pointer}) has no operationId")
                if op_id in self.operations:
                    raise SpecError(f"{self.source}: operationId {op_id!r} is used twice ({pointer})")
                tags = op.get("tags") or [""]
                operation = Operation(op_id, method.upper(), template, tags[0], pointer, op)
                operation.parameters = self._parameters(shared, f"/paths/{_escape(template)}/parameters") + \
                    self._parameters(op.get("parameters", []), f"{pointer}/parameters")
                body = op.get("requestBody")
                if body is not None:
                    body_pointer = f"{pointer}/requestBody"
                    if "$ref" in body:
                        body_pointer = body["$ref"].lstrip("#")
                        body = self.resolve(body["$ref"])
                    operation.body_required = bool(body.get("required"))
                    for media, content in (body.get("content") or {}).items():
                        operation.body_media[media] = f"{body_pointer}/content/{_escape(media)}/schema" \
                            if "schema" in content else ""
                for status, response in (op.get("responses") or {}).items():
                    resp_pointer = f"{pointer}/responses/{status}"
                    if "$ref" in response:
                        resp_pointer = response["$ref"].lstrip("#")
                        response = self.resolve(response["$ref"])
                    media_map: dict[str, str | None] = {}
                    for media, content in (response.get("content") or {}).items():
                        media_map[media] = f"{resp_pointer}/content/{_escape(media)}/schema" if "schema" in content else None
                    operation.responses[str(status)] = media_map
                self.operations[op_id] = operation

    def _parameters(self, params: list[dict[str, Any]], base: str) -> list[Parameter]:
        out = []
        for i, param in enumerate(params):
            pointer = f"{base}/{i}"
            if "$ref" in param:
                pointer = param["$ref"].lstrip("#")
                param = self.resolve(param["$ref"])
            out.append(Parameter(param["name"], param["in"], bool(param.get("required")),
                                 param.get("schema", {}), f"{pointer}/schema"))
        return out

    def resolve(self, ref: str) -> Any:
        """Follow a local ``#/...`` reference."""
        node: Any = self.document
        for part in ref.lstrip("#").strip("/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def validator(self, pointer: str) -> Draft202012Validator:
        """A validator for the schema at ``pointer`` (a JSON pointer into the spec)."""
        found = self._validators.get(pointer)
        if found is None:
            schema = self.resolve(pointer)
            if _has_ref(schema):
                found = Draft202012Validator({"$ref": f"{_SPEC_URI}#{pointer}"}, registry=self._registry,
                                             format_checker=FORMATS)
            else:  # self-contained (most parameters): skip resolving a reference on every request
                found = Draft202012Validator(schema, format_checker=FORMATS)
            self._validators[pointer] = found
        return found

    def fast_validator(self, pointer: str) -> Any:
        """A compiled (jsonschema-rs) validator for the schema at ``pointer``, or None if it cannot compile one.

        It only answers "valid or not", a hundred times faster than ``validator``; its formats are
        ``FORMATS``' checkers, so what it accepts ``validator`` accepts too.
        """
        if pointer not in self._fast:
            try:
                self._fast[pointer] = jsonschema_rs.Draft202012Validator(
                    {"$ref": f"{_SPEC_URI}#{quote(pointer, safe='/~')}"}, registry=self._fast_registry,
                    validate_formats=True, formats=_FAST_FORMATS)
            except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError):
                self._fast[pointer] = None
        return self._fast[pointer]

    def errors(self, pointer: str, instance: Any) -> list[ValidationError]:
        """All violations of the schema at ``pointer``, most specific first.

        A valid instance (the common case) is recognised by the compiled validator; only an invalid one
        (or one it rejects more strictly, e.g. an ECMA regex) goes through ``jsonschema`` for its errors.
        """
        if pointer in self._uuid_pointers:  # the commonest parameter, checked without a validator
            if isinstance(instance, str) and _UUID.match(instance):
                return []
        fast = self.fast_validator(pointer)
        if fast is not None:
            try:
                if fast.is_valid(instance):
                    return []
            except (ValueError, TypeError, RecursionError):
                pass
        errors = list(self.validator(pointer).iter_errors(instance))
        return sorted(errors, key=lambda e: (-len(list(e.absolute_path)), e.message))

    def path_regex(self, operation: Operation) -> str:
        return operation.path


def describe(error: ValidationError, *, where: str) -> str:
    """A message naming the field: ``Invalid body: /name: 'x' is not of type 'string'``."""
    path = "/".join(str(p) for p in error.absolute_path)
    field_name = f"/{path}" if path else "(root)"
    message = error.message
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = min(error.context, key=lambda e: len(list(e.absolute_path)) * -1)
        message = best.message
        sub = "/".join(str(p) for p in best.absolute_path)
        if sub:
            field_name = f"/{sub}"
    if len(message) > 300:
        message = message[:300] + "..."
    return f"Invalid {where} {field_name}: {message}"


def _has_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_has_ref(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_ref(v) for v in node)
    return False


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def load_spec(path: str | Path | None = None) -> Spec:
    """Read the spec file (YAML or JSON); a missing or unreadable file is a ``SpecError``."""
    try:
        document = read_document(path)
    except SpecFileError as exc:
        raise SpecError(str(exc)) from None
    return Spec(document, source=str(path or DEFAULT_SPEC_PATH))
