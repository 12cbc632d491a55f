"""The spec as the suite reads it: operations with their auth, permissions, tags and upstream notes.

schemathesis reads the spec for itself; the hand-written layer needs a smaller view of it: which
operations are public, which take a chatflow-bound key, which write, which tags exist (for
`--only`), and validators for named schemas (the stream's `PredictionStreamEvent` above all),
resolved against the whole document so `$ref`s work exactly as in the spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry

from conformance.errors import SpecError
from contract import spec as contract

__all__ = ["Operation", "SpecIndex", "load_spec"]

METHODS = contract.METHODS
SPEC_URI = contract.SPEC_URI
_PARAM = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the spec, reduced to what the hand-written checks need."""

    operation_id: str
    method: str
    path: str
    tags: tuple[str, ...]
    summary: str
    #: `security: []`: no key needed.
    public: bool
    #: `security: [{}, {bearerApiKey: []}]`: a key is optional (prediction, vector upsert).
    optional_auth: bool
    chatflow_key: bool
    permissions: tuple[str, ...]
    upstream: tuple[str, ...]
    raw: dict[str, Any]

    @property
    def writes(self) -> bool:
        return self.method not in {"GET", "HEAD", "OPTIONS"}

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @property
    def needs_key(self) -> bool:
        return not self.public and not self.optional_auth

    @property
    def statuses(self) -> set[str]:
        return set(self.raw.get("responses", {}))

    def concrete_path(self, values: dict[str, str] | None = None, default: str = "") -> str:
        """The path with its parameters filled in (missing ones get `default`)."""
        values = values or {}
        return _PARAM.sub(lambda match: values.get(match.group(1), default), self.path)

    def media_types(self, status: str = "200") -> list[str]:
        response = self.raw.get("responses", {}).get(status, {})
        return list((response.get("content") or {}).keys())


class SpecIndex:
    """Operations and schema validators of one loaded spec document."""

    def __init__(self, document: dict[str, Any], *, source: str = "spec") -> None:
        self.document = document
        self.source = source
        self._registry: Registry = contract.registry(document)
        operations = []
        for path, item in (document.get("paths") or {}).items():
            for method, raw in item.items():
                if method not in METHODS or not isinstance(raw, dict):
                    continue
                operation_id = raw.get("operationId")
                if not operation_id:
                    raise SpecError(f"{source}: {method.upper()} {path} has no operationId")
                operations.append(
                    Operation(
                        operation_id=operation_id,
                        method=method.upper(),
                        path=path,
                        tags=tuple(raw.get("tags") or ()),
                        summary=str(raw.get("summary", "")),
                        public=contract.public(raw, document),
                        optional_auth=contract.key_optional(raw, document),
                        chatflow_key=contract.chatflow_key(raw),
                        permissions=tuple(contract.permissions(raw)),
                        upstream=tuple(str(note.get("id")) for note in contract.upstream_notes(raw)),
                        raw=raw,
                    )
                )
        if not operations:
            raise SpecError(f"{source}: no operations")
        self.operations: list[Operation] = operations
        self.by_id: dict[str, Operation] = {operation.operation_id: operation for operation in operations}

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations)

    def __getitem__(self, operation_id: str) -> Operation:
        try:
            return self.by_id[operation_id]
        except KeyError:
            raise SpecError(f"{self.source}: no operation {operation_id!r}") from None

    def get(self, operation_id: str) -> Operation | None:
        return self.by_id.get(operation_id)

    def find(self, method: str, path: str) -> Operation | None:
        for operation in self.operations:
            if operation.method == method.upper() and operation.path == path:
                return operation
        return None

    @property
    def version(self) -> str:
        return str(self.document.get("info", {}).get("version", ""))

    @property
    def tags(self) -> list[str]:
        declared = [tag.get("name") for tag in self.document.get("tags", []) if isinstance(tag, dict)]
        used = [tag for operation in self.operations for tag in operation.tags]
        return list(dict.fromkeys([*declared, *used]))

    @cached_property
    def upstream_ids(self) -> set[str]:
        return {note for operation in self.operations for note in operation.upstream}

    def resolve(self, pointer: str) -> Any:
        """Follow a local `#/...` pointer (or a `$ref` object) in the document."""
        if isinstance(pointer, dict):
            pointer = pointer.get("$ref", "")
        if not isinstance(pointer, str) or not pointer.startswith("#/"):
            raise SpecError(f"{self.source}: not a local JSON pointer: {pointer!r}")
        node: Any = self.document
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, TypeError, IndexError, ValueError):
                raise SpecError(f"{self.source}: {pointer} does not exist") from None
        return node

    def validator(self, pointer: str, *, formats: bool = False) -> Callable[[Any], list[str]]:
        """A function returning the validation errors of an instance against a schema in the spec.

        With `formats`, `format` is asserted too, including the spec's own `json-string`.
        """
        self.resolve(pointer)
        validator = Draft202012Validator(
            {"$ref": SPEC_URI + pointer}, registry=self._registry, format_checker=FORMATS if formats else None
        )

        def validate(instance: Any) -> list[str]:
            errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
            return [_describe(error) for error in errors]

        return validate

    @cached_property
    def event_schema_pointer(self) -> str:
        """The pointer `x-flowise-event-schema` names on the prediction's text/event-stream response."""
        pointer = contract.event_schema_pointer(self.document)
        if pointer is None:
            raise SpecError(f"{self.source}: no text/event-stream response carries x-flowise-event-schema")
        return pointer

    @cached_property
    def event_validator(self) -> Callable[[Any], list[str]]:
        """Validate one stream event; a `oneOf` keyed by `event` is validated against its own branch.

        A bare `oneOf` failure ("not valid under any of the given schemas") tells a reader nothing,
        so the branch whose `event` const matches is picked first and its errors are reported.
        """
        pointer = self.event_schema_pointer
        schema = self.resolve(pointer)
        branches: dict[str, Callable[[Any], list[str]]] = {}
        for index, branch in enumerate(schema.get("oneOf", []) if isinstance(schema, dict) else []):
            const = ((branch.get("properties") or {}).get("event") or {}).get("const")
            if isinstance(const, str):
                branches[const] = self.validator(f"{pointer}/oneOf/{index}")
        whole = self.validator(pointer)
        if not branches:
            return whole

        def validate(instance: Any) -> list[str]:
            name = instance.get("event") if isinstance(instance, dict) else None
            if isinstance(name, str) and name not in branches:
                return [f"unknown event name {name!r} (the spec lists {', '.join(sorted(branches))})"]
            errors = branches[name](instance) if isinstance(name, str) else []
            return errors or whole(instance)

        return validate


#: Standard formats plus the spec's own (`json-string`, `json-object-string`).
FORMATS = contract.add_flowise_formats(FormatChecker())


def _describe(error: Any) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
    return f"{where or '(root)'}: {message}"


def load_spec(path: Path) -> SpecIndex:
    """Read and index the spec; any problem is a `SpecError` (the run cannot go on without it)."""
    try:
        document = contract.read_document(path)
    except contract.SpecFileError as exc:
        raise SpecError(str(exc), url=str(path)) from None
    return SpecIndex(document, source=str(path))
