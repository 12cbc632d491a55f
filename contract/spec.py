"""Reading the spec: the document, its references, its formats and the ``x-flowise-*`` extensions.

The mock (``mockserver.spec``) and the suite (``conformance.spec``) each keep the view of an operation
their work needs, but both read the file, resolve pointers, check the spec's own formats and interpret
its extensions here, so an extension means one thing everywhere (CONTRIBUTING.md, "Spec conventions").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from jsonschema import FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "DEFAULT_SPEC_PATH",
    "METHODS",
    "SPEC_URI",
    "SpecFileError",
    "add_flowise_formats",
    "chatflow_key",
    "event_schema_pointer",
    "iter_operations",
    "key_optional",
    "permissions",
    "public",
    "read_document",
    "registry",
    "resolve",
    "security",
    "upstream_ids",
    "upstream_notes",
]

_HERE = Path(__file__).resolve().parent
#: The spec in a checkout; in an installed wheel, the copy shipped beside this module.
DEFAULT_SPEC_PATH = _HERE.parent / "spec" / "flowise.openapi.yaml"
if not DEFAULT_SPEC_PATH.exists():
    DEFAULT_SPEC_PATH = _HERE / "flowise.openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head")
#: The base URI the whole document is registered under, so ``$ref``s resolve the same for every reader.
SPEC_URI = "urn:flowise-spec"


class SpecFileError(Exception):
    """The file cannot be read, is not YAML/JSON, or is not an OpenAPI 3 document."""


def read_document(path: str | Path | None = None) -> dict[str, Any]:
    """The spec file (YAML or JSON) as a mapping; any problem is a ``SpecFileError`` naming it."""
    spec_path = Path(path) if path else DEFAULT_SPEC_PATH
    try:
        text = spec_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecFileError(f"cannot read the spec {spec_path}: {exc.strerror or exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecFileError(f"the spec {spec_path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise SpecFileError(f"{spec_path} is not an OpenAPI 3.x document")
    return document


def registry(document: dict[str, Any]) -> Registry:
    """A ``referencing`` registry holding the whole document under ``SPEC_URI``."""
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT202012)
    found: Registry = Registry().with_resource(SPEC_URI, resource)
    return found


def resolve(document: dict[str, Any], pointer: str) -> Any:
    """Follow a local ``#/...`` JSON pointer; ``KeyError`` when it leads nowhere."""
    node: Any = document
    for part in pointer.lstrip("#").strip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (IndexError, ValueError, TypeError):
            raise KeyError(pointer) from None
    return node


def iter_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path template, operation object)`` for every operation, in document order."""
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method, raw in item.items():
            if method in METHODS and isinstance(raw, dict):
                yield method.upper(), path, raw


# -- the x-flowise extensions and security, one meaning for every reader ------------------------------

def security(raw: dict[str, Any], document: dict[str, Any]) -> list[Any]:
    """The operation's security requirements (its own, else the document's)."""
    found = raw.get("security", document.get("security", []))
    return found if isinstance(found, list) else []


def public(raw: dict[str, Any], document: dict[str, Any]) -> bool:
    """``security: []``: no key is asked for."""
    return security(raw, document) == []


def key_optional(raw: dict[str, Any], document: dict[str, Any]) -> bool:
    """``security: [{}, {bearerApiKey: []}]``: a key may be sent, none is needed (prediction, upsert)."""
    requirements = security(raw, document)
    return bool(requirements) and {} in requirements


def permissions(raw: dict[str, Any]) -> list[str]:
    """``x-flowise-permission``: the API-key permissions of which any one suffices."""
    return [str(p) for p in raw.get("x-flowise-permission") or ()]


def chatflow_key(raw: dict[str, Any]) -> bool:
    """``x-flowise-chatflow-key``: a chatflow with ``apikeyid`` needs that very key."""
    return bool(raw.get("x-flowise-chatflow-key"))


def upstream_notes(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """``x-flowise-upstream``: where the real server breaks the stated contract."""
    return [note for note in raw.get("x-flowise-upstream") or () if isinstance(note, dict)]


def upstream_ids(raw: dict[str, Any], line: str | None = None) -> set[str]:
    """The ids of the upstream notes that hold on release line ``line`` (e.g. ``3.0``): notes naming it in
    ``versions``, or naming no version. ``None``: every note."""
    return {str(note.get("id", "")) for note in upstream_notes(raw)
            if line is None or not note.get("versions") or line in note["versions"]}


def event_schema_pointer(document: dict[str, Any]) -> str | None:
    """The pointer ``x-flowise-event-schema`` names on the prediction's ``text/event-stream`` response."""
    for _method, _path, raw in iter_operations(document):
        for response in (raw.get("responses") or {}).values():
            media = ((response or {}).get("content") or {}).get("text/event-stream")
            if isinstance(media, dict) and media.get("x-flowise-event-schema"):
                pointer = media["x-flowise-event-schema"]
                return str(pointer["$ref"] if isinstance(pointer, dict) else pointer)
    return None


# -- the spec's own formats -----------------------------------------------------------------------------

def _json_text(value: object) -> bool:
    """``json-string``: Flowise's JSON-string columns (flowData, chatbotConfig, details...)."""
    if isinstance(value, str):
        json.loads(value)
    return True


def _json_object_text(value: object) -> bool:
    """``json-object-string``: a multipart field carrying an object as JSON text (``metadata``...)."""
    return not isinstance(value, str) or isinstance(json.loads(value), dict)


def add_flowise_formats(checker: FormatChecker) -> FormatChecker:
    """Teach ``checker`` the formats the spec defines for itself; returns it."""
    checker.checks("json-string", raises=ValueError)(_json_text)
    checker.checks("json-object-string", raises=ValueError)(_json_object_text)
    return checker
