"""Checks over the OpenAPI document, written as functions that return findings.

Each check takes the parsed spec (a plain dict) and returns a list of human-readable findings, each
naming the operation and the JSON pointer at fault. The tests assert the lists are empty; the
"broken copy" tests feed deliberately damaged specs to the same functions to prove they can fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:flowise:spec"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

# The ids shared with conformance/deviations.toml and the mock's --quirks mode (CONTRIBUTING.md).
KNOWN_UPSTREAM_IDS = frozenset(
    {
        "missing-id-500",
        "flow-key-500",
        "delete-missing-200",
        "stream-error-hang",
        "unknown-route-html",
        "missing-question-accepted",
        "leads-get-workspace-404",
        "duplicate-feedback-500",
        "missing-field-500",
        "not-found-text",
        "client-error-500",
        "malformed-id-accepted",
        "blank-id-412",
        "duplicate-feedback-accepted",
        "body-not-json-read-as-empty",
        "no-input-validation",
        "metrics-any-method",
        "assistant-undeletable",
        "assistant-provider-500",
        "leads-list-public",
        "end-frame-without-colon",
        "chunk-overlap-zero-ignored",
        "iteration-state-not-carried",
        "human-input-no-action",
        "agentflows-missing",
        "metrics-public",
        "no-key-permissions",
        "api-keys-json-store",
        "apikey-chatflows-postgres-500",
        "queue-job-missing-key-500",
        "executions-delete-error-shape",
        "executions-update-unguarded",
        "unknown-owner-empty-list",
    }
)
# The Flowise release lines a note's `versions` may name (the mock's --quirks flowise-<line>).
SUPPORTED_LINES = frozenset({"3.1", "3.0", "2.2"})


def load_spec(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def escape(token: str) -> str:
    """Escape one JSON-pointer reference token (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: Any) -> str:
    return "".join("/" + escape(t) for t in tokens)


def resolve_pointer(doc: Any, ptr: str) -> Any:
    node = doc
    for raw in ptr.lstrip("/").split("/") if ptr else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def deref(spec: dict[str, Any], node: Any, ptr: str) -> tuple[Any, str]:
    """Follow local `$ref`s of OpenAPI objects (not schemas); answer the target and its pointer."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"unresolvable $ref {ref!r} at {ptr}")
        seen.add(ref)
        ptr = ref[1:]
        node = resolve_pointer(spec, ptr)
    return node, ptr


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    op: dict[str, Any]

    @property
    def pointer(self) -> str:
        return pointer("paths", self.path, self.method)

    @property
    def label(self) -> str:
        return f"{self.op.get('operationId', '<no operationId>')} ({self.method.upper()} {self.path})"


def iter_operations(spec: dict[str, Any]) -> Iterator[Operation]:
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield Operation(path, method, item[method])


def operation_parameters(spec: dict[str, Any], operation: Operation) -> list[tuple[dict[str, Any], str]]:
    """Path-level and operation-level parameters, resolved, with their pointers."""
    found: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
    item_ptr = pointer("paths", operation.path)
    sources = [
        (spec["paths"][operation.path].get("parameters") or [], item_ptr + "/parameters"),
        (operation.op.get("parameters") or [], operation.pointer + "/parameters"),
    ]
    for params, base in sources:
        for index, param in enumerate(params):
            resolved, ptr = deref(spec, param, f"{base}/{index}")
            found[(resolved["name"], resolved["in"])] = (resolved, ptr)
    return list(found.values())


# --- examples -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleCase:
    """One example value and the schema it must satisfy."""

    where: str  # the operation label, or "components"
    example_pointer: str  # where the example value lives (after following $refs)
    usage_pointer: str  # where the example is used (before following $refs)
    schema_pointer: str  # pointer of the schema it must match
    value: Any


def _media_examples(
    spec: dict[str, Any], media: dict[str, Any], media_ptr: str
) -> Iterator[tuple[str, str, Any]]:
    """(usage pointer, value pointer, value) for a media type's, parameter's or header's examples."""
    if "example" in media:
        yield media_ptr + "/example", media_ptr + "/example", media["example"]
    for name, example in (media.get("examples") or {}).items():
        usage = f"{media_ptr}/examples/{escape(name)}"
        resolved, ptr = deref(spec, example, usage)
        if "value" in resolved:
            yield usage, ptr + "/value", resolved["value"]


def collect_examples(spec: dict[str, Any]) -> tuple[list[ExampleCase], list[str]]:
    """Every example in the document, plus findings for documented bodies that carry none."""
    cases: list[ExampleCase] = []
    missing: list[str] = []

    def add(where: str, holder: dict[str, Any], holder_ptr: str, schema_ptr: str, *, require: bool) -> None:
        items = list(_media_examples(spec, holder, holder_ptr))
        if require and not items:
            missing.append(f"{where}: no example at {holder_ptr}")
        for usage, value_ptr, value in items:
            cases.append(ExampleCase(where, value_ptr, usage, schema_ptr, value))

    for operation in iter_operations(spec):
        where = operation.label
        for param, ptr in operation_parameters(spec, operation):
            if "schema" in param:
                add(where, param, ptr, ptr + "/schema", require=False)
        if "requestBody" in operation.op:
            body, body_ptr = deref(spec, operation.op["requestBody"], operation.pointer + "/requestBody")
            for media_type, media in (body.get("content") or {}).items():
                media_ptr = f"{body_ptr}/content/{escape(media_type)}"
                add(where, media, media_ptr, media_ptr + "/schema", require=True)
        for status, response in (operation.op.get("responses") or {}).items():
            resp, resp_ptr = deref(spec, response, f"{operation.pointer}/responses/{escape(status)}")
            for name, header in (resp.get("headers") or {}).items():
                header_obj, header_ptr = deref(spec, header, f"{resp_ptr}/headers/{escape(name)}")
                add(where, header_obj, header_ptr, header_ptr + "/schema", require=True)
            for media_type, media in (resp.get("content") or {}).items():
                media_ptr = f"{resp_ptr}/content/{escape(media_type)}"
                if media_type == "text/event-stream":
                    continue  # its schema describes one event: check_event_stream_examples reads its streams
                add(where, media, media_ptr, media_ptr + "/schema", require=True)

    # JSON Schema `examples` arrays anywhere in the document (schemas, parameters, headers).
    def walk(node: Any, ptr: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list):
                for index, value in enumerate(node["examples"]):
                    cases.append(ExampleCase("schema", f"{ptr}/examples/{index}", ptr, ptr, value))
            for key, child in node.items():
                # Example values and OpenAPI example maps are data, not schemas: do not look inside.
                if key == "example" or (key == "examples" and isinstance(child, dict)):
                    continue
                walk(child, f"{ptr}/{escape(key)}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{ptr}/{index}")

    walk(spec, "")
    # An example seen through several $refs is validated once per distinct (value, schema) pair.
    unique: dict[tuple[str, str, str], ExampleCase] = {}
    for case in cases:
        unique.setdefault((case.example_pointer, case.schema_pointer, case.where), case)
    return list(unique.values()), missing


def registry_for(spec: dict[str, Any]) -> Registry:
    return Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT202012))


def validator_for(registry: Registry, schema_pointer: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{SPEC_URI}#{schema_pointer}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def check_examples(spec: dict[str, Any]) -> list[str]:
    """Findings for examples that do not validate against their schema (or are missing)."""
    cases, findings = collect_examples(spec)
    registry = registry_for(spec)
    for case in cases:
        try:
            errors = list(validator_for(registry, case.schema_pointer).iter_errors(case.value))
        except Exception as exc:  # an unresolvable $ref is a finding too
            findings.append(
                f"{case.where}: schema {case.schema_pointer} unusable for {case.example_pointer}: {exc}"
            )
            continue
        for error in errors:
            # For oneOf/anyOf failures, report the sub-error that got furthest into the instance.
            error = best_match([error])
            inside = "".join("/" + escape(p) for p in error.absolute_path)
            used = (
                ""
                if case.example_pointer.startswith(case.usage_pointer)
                else f" (used at {case.usage_pointer})"
            )
            message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
            findings.append(
                f"{case.where}: example {case.example_pointer}{inside}{used} does not match "
                f"schema {case.schema_pointer}: {message}"
            )
    return findings


FRAME = re.compile(r"^message:?\ndata:(?P<json>.*)$", re.DOTALL)


def check_event_stream_examples(spec: dict[str, Any]) -> list[str]:
    """Findings for SSE examples whose frames are malformed or do not match the event schema."""
    findings: list[str] = []
    registry = registry_for(spec)
    for operation in iter_operations(spec):
        for status, response in (operation.op.get("responses") or {}).items():
            resp, resp_ptr = deref(spec, response, f"{operation.pointer}/responses/{escape(status)}")
            for media_type, media in (resp.get("content") or {}).items():
                event_schema = media.get("x-flowise-event-schema")
                if media_type != "text/event-stream":
                    continue
                media_ptr = f"{resp_ptr}/content/{escape(media_type)}"
                if not event_schema or "$ref" not in event_schema:
                    findings.append(f"{operation.label}: {media_ptr} lacks x-flowise-event-schema.$ref")
                    continue
                item = deref(spec, media.get("schema") or {}, f"{media_ptr}/schema")[0]
                content_schema = ((item.get("properties") or {}).get("data") or {}).get("contentSchema")
                if content_schema != event_schema:
                    findings.append(f"{operation.label}: {media_ptr}/schema is not one event whose `data` is JSON "
                                    f"matching {event_schema['$ref']} (contentSchema)")
                validator = validator_for(registry, event_schema["$ref"][1:])
                examples = list(_media_examples(spec, media, media_ptr))
                if not examples:
                    findings.append(f"{operation.label}: no example at {media_ptr}")
                for _usage, value_ptr, value in examples:
                    if not isinstance(value, str) or not value.endswith("\n\n"):
                        findings.append(
                            f"{operation.label}: {value_ptr} is not a stream ending in a blank line"
                        )
                        continue
                    for index, frame in enumerate(value[:-2].split("\n\n")):
                        match = FRAME.match(frame)
                        if not match:
                            findings.append(
                                f"{operation.label}: {value_ptr} frame {index} is not message:/data: {frame!r}"
                            )
                            continue
                        try:
                            event = json.loads(match["json"])
                        except json.JSONDecodeError as exc:
                            findings.append(
                                f"{operation.label}: {value_ptr} frame {index} data is not JSON: {exc}"
                            )
                            continue
                        for error in validator.iter_errors(event):
                            findings.append(
                                f"{operation.label}: {value_ptr} frame {index} ({event.get('event')!r}) "
                                f"does not match {event_schema['$ref']}: {error.message}"
                            )
    return findings


# --- structure ------------------------------------------------------------------------------


def check_operation_basics(spec: dict[str, Any]) -> list[str]:
    findings: list[str] = []
    declared_tags = {tag["name"] for tag in spec.get("tags") or []}
    seen: dict[str, str] = {}
    for operation in iter_operations(spec):
        op, ptr, label = operation.op, operation.pointer, operation.label
        op_id = op.get("operationId")
        if not op_id:
            findings.append(f"{label}: {ptr}/operationId is missing")
        elif op_id in seen:
            findings.append(f"{label}: {ptr}/operationId duplicates {seen[op_id]}")
        else:
            seen[op_id] = ptr
        tags = op.get("tags") or []
        if len(tags) != 1:
            findings.append(f"{label}: {ptr}/tags must hold exactly one tag, has {tags!r}")
        elif tags[0] not in declared_tags:
            findings.append(f"{label}: {ptr}/tags/0 {tags[0]!r} is not declared in /tags")
        if not op.get("summary"):
            findings.append(f"{label}: {ptr}/summary is missing")
        statuses = [str(s) for s in (op.get("responses") or {})]
        if not any(s[0] in "45" for s in statuses):
            findings.append(f"{label}: {ptr}/responses has no 4xx/5xx response")
    return findings


def check_links(spec: dict[str, Any]) -> list[str]:
    """Every link names an existing operationId, and its parameters exist on that operation."""
    findings: list[str] = []
    by_id = {o.op.get("operationId"): o for o in iter_operations(spec)}
    for operation in iter_operations(spec):
        for status, response in (operation.op.get("responses") or {}).items():
            resp, resp_ptr = deref(spec, response, f"{operation.pointer}/responses/{escape(status)}")
            for name, link in (resp.get("links") or {}).items():
                link_ptr = f"{resp_ptr}/links/{escape(name)}"
                target_id = link.get("operationId")
                target = by_id.get(target_id)
                if target is None:
                    findings.append(
                        f"{operation.label}: {link_ptr}/operationId {target_id!r} names no operation"
                    )
                    continue
                param_names = {p["name"] for p, _ in operation_parameters(spec, target)}
                for param in link.get("parameters") or {}:
                    bare = param.split(".", 1)[-1]
                    if bare not in param_names:
                        findings.append(
                            f"{operation.label}: {link_ptr}/parameters/{escape(param)} is not a parameter of {target_id}"
                        )
    return findings


def check_upstream_notes(spec: dict[str, Any]) -> list[str]:
    findings: list[str] = []
    for operation in iter_operations(spec):
        notes = operation.op.get("x-flowise-upstream")
        if notes is None:
            continue
        ptr = operation.pointer + "/x-flowise-upstream"
        if not isinstance(notes, list) or not notes:
            findings.append(f"{operation.label}: {ptr} must be a non-empty list")
            continue
        for index, note in enumerate(notes):
            note_ptr = f"{ptr}/{index}"
            if not isinstance(note, dict):
                findings.append(f"{operation.label}: {note_ptr} must be an object")
                continue
            if note.get("id") not in KNOWN_UPSTREAM_IDS:
                findings.append(
                    f"{operation.label}: {note_ptr}/id {note.get('id')!r} is not a known upstream id"
                )
            for key in ("behaviour", "reference"):
                if not isinstance(note.get(key), str) or not note[key].strip():
                    findings.append(f"{operation.label}: {note_ptr}/{key} is missing")
            versions = note.get("versions")  # the release lines that show it (absent: every line)
            if versions is not None and (
                not isinstance(versions, list) or not versions
                or not all(isinstance(line, str) and line in SUPPORTED_LINES for line in versions)
            ):
                findings.append(f"{operation.label}: {note_ptr}/versions must list release lines of "
                                f"{sorted(SUPPORTED_LINES)}, got {versions!r}")
    return findings


def stream_event_branches(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    base = "/components/schemas/PredictionStreamEvent/oneOf"
    branches = resolve_pointer(spec, base)
    return [(f"{base}/{index}", branch) for index, branch in enumerate(branches)]


def check_stream_events(spec: dict[str, Any]) -> list[str]:
    findings: list[str] = []
    seen: dict[str, str] = {}
    for ptr, branch in stream_event_branches(spec):
        branch, ptr = deref(spec, branch, ptr)
        if branch.get("type") != "object" or not {"event", "data"} <= set(branch.get("required") or []):
            findings.append(f"PredictionStreamEvent: {ptr} must be an object requiring event and data")
        const = ((branch.get("properties") or {}).get("event") or {}).get("const")
        if not isinstance(const, str):
            findings.append(f"PredictionStreamEvent: {ptr}/properties/event has no string const")
        elif const in seen:
            findings.append(
                f"PredictionStreamEvent: {ptr}/properties/event/const {const!r} repeats {seen[const]}"
            )
        else:
            seen[const] = ptr
        if "data" not in (branch.get("properties") or {}):
            findings.append(f"PredictionStreamEvent: {ptr}/properties/data is missing")
    return findings


# --- seed coverage --------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedEntry:
    line_no: int
    source: str
    method: str
    path: str
    target: str | None  # an operationId, "not-real", or None

    @property
    def label(self) -> str:
        return f"seed-operations.txt:{self.line_no} ({self.source}) {self.method} {self.path}"


SEED_LINE = re.compile(r"^(?P<method>[A-Z]+)\s+(?P<path>/\S*)(?:\s+->\s+(?P<target>.+))?$")


def parse_seed_operations(text: str) -> tuple[list[SeedEntry], list[str]]:
    entries: list[SeedEntry] = []
    problems: list[str] = []
    source = "<no # source: line>"
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.lower().startswith("# source:"):
                source = line.split(":", 1)[1].strip()
            continue
        match = SEED_LINE.match(line)
        if not match:
            problems.append(f"seed-operations.txt:{line_no}: cannot parse {line!r}")
            continue
        target = match["target"]
        if target and target.startswith("not-real"):
            if not target.partition(":")[2].strip():
                problems.append(f"seed-operations.txt:{line_no}: `not-real` needs a reason")
            target = "not-real"
        entries.append(SeedEntry(line_no, source, match["method"].lower(), match["path"], target))
    return entries, problems


def path_shape(path: str) -> str:
    if path.startswith("/api/v1/"):
        path = path[len("/api/v1") :]
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def check_seed_coverage(spec: dict[str, Any], seed_text: str) -> list[str]:
    entries, findings = parse_seed_operations(seed_text)
    by_shape = {(o.method, path_shape(o.path)): o for o in iter_operations(spec)}
    by_id = {o.op.get("operationId"): o for o in iter_operations(spec)}
    for entry in entries:
        if entry.target == "not-real":
            continue
        if entry.target is not None:
            target = by_id.get(entry.target)
            if target is None:
                findings.append(f"{entry.label}: maps to {entry.target!r}, which the spec does not define")
            elif (target.method, path_shape(target.path)) != (entry.method, path_shape(entry.path)):
                findings.append(
                    f"{entry.label}: maps to {entry.target}, which is {target.method.upper()} {target.path}"
                )
            continue
        if (entry.method, path_shape(entry.path)) not in by_shape:
            findings.append(
                f"{entry.label}: no spec operation covers it (add it, map it or mark it not-real)"
            )
    return findings
