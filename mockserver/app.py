"""create_app: the spec, bound to handlers, behind Flowise's gate, errors, limits and CORS.

The app is FastAPI: its router holds one route per spec path (``Pipeline.routes``), its middleware the
request log, CORS and the body limit, its exception handlers Flowise's error bodies, its lifespan the
shutdown of the JavaScript workers. A request routed to a spec path goes through one pipeline
(``Pipeline.dispatch``): auth gate → method → permission → parse and validate against the spec →
per-chatflow rate limit → handler → (strict mode) response validated against the spec. Errors of every
stage come out as Flowise's bodies; FastAPI's own validation and ``{"detail": ...}`` bodies are never used
(handlers take the validated ``Call``, not FastAPI parameters, because the spec, not type hints, is the
contract).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import re
import time
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import UploadFile
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import quirks, resources, versions  # noqa: F401  (resources registers every handler)
from mockserver.auth import OPEN_IDENTITY, Identity, KeyRing, is_public_path, key_from_header
from mockserver.bodylimit import BodyLimit
from mockserver.errors import FlowiseError, ForbiddenError, GateUnauthorizedError, error_response
from mockserver.faults import RECEIVED_AT, is_injected
from mockserver.jsonbody import MalformedJSONError, parse_json
from mockserver.llm import javascript
from mockserver.llm.javascript import Limits
from mockserver.metrics import Metrics
from mockserver.operations import Call, Handler, check_bindings, handlers
from mockserver.ratelimit import RateLimits, client_ip
from mockserver.settings import MockSettings
from mockserver.spec import Operation, Spec, describe, load_spec
from mockserver.state import MockState
from mockserver.store import records
from mockserver.store.db import Database, json_object, new_id
from mockserver.store.durability import DurableAnswers
from mockserver.streaming import EventStreamResponse

__all__ = ["create_app"]

log = logging.getLogger("flowise-mock")

API_PREFIX = "/api/v1"
#: Mock additions under /api/v1 that are not Flowise routes and need no key.
_OPEN_EXTRA = ("/api/v1/openapi.json",)
_UI_HTML = "<!DOCTYPE html><html><head><title>Flowise</title></head><body><div id=\"root\"></div></body></html>"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


#: Key in the ASGI scope's ``state`` holding the spec template a request was routed to (for metrics).
ROUTE_KEY = "mock.route"


def _shape_key(path: str) -> tuple[int, str]:
    parts = path.split("/")
    return len(parts), parts[3] if len(parts) > 3 else ""


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


class Pipeline:
    """The request pipeline for spec operations, the gate, and unknown routes."""

    def __init__(self, state: MockState, registry: dict[str, Handler]) -> None:
        self.state = state
        self.handlers = registry
        self.spec = state.spec
        self.settings = state.settings
        self.keys: KeyRing = state.keys
        self.limits: RateLimits = state.ratelimits
        self.by_path: dict[str, dict[str, Operation]] = {}
        for op in self.spec.operations.values():
            self.by_path.setdefault(op.path, {})[op.method] = op
        # Candidate templates by (segment count, first segment): a request is matched against a handful
        # of regexes, not against every path of the spec.
        self.matchers: dict[tuple[int, str], list[tuple[re.Pattern[str], str]]] = {}
        self.templates = sorted(self.by_path, key=lambda t: (t.count("{"), -len(t)))
        for template in self.templates:
            full = API_PREFIX + template
            self.matchers.setdefault(_shape_key(full), []).append((_template_regex(full), template))

    # -- the gate -----------------------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Identity | None:
        """Flowise's global gate: public prefixes pass with no identity, everything else needs a key."""
        path = request.scope["path"]
        if API_PREFIX + "/" not in path and "/api/v1/" in path.lower():
            raise GateUnauthorizedError()
        listed = versions.public(self.settings, path)  # the quirks' line may list it otherwise
        if (is_public_path(path) if listed is None else listed) or path.startswith(_OPEN_EXTRA):
            identity = None
            if not self.settings.auth_on:
                return OPEN_IDENTITY
            return identity
        if not self.settings.auth_on:
            return OPEN_IDENTITY
        if request.headers.get("x-request-from") == "internal":
            raise _InternalTokenMissing()
        identity = self.keys.identify(key_from_header(request.headers.get("authorization")))
        if identity is None:
            raise GateUnauthorizedError()
        return identity

    def route(self, path: str, method: str | None = None) -> tuple[str, dict[str, str]] | None:
        """The spec template matching ``path``: the first one serving ``method`` if any serves it, else the
        first match (so a wrong method gets its 405). Two templates can share a shape, e.g.
        ``/document-store/chunks/{storeId}/{fileId}/{pageNo}`` (GET) and ``.../{loaderId}/{chunkId}`` (PUT)."""
        first = None
        for regex, template in self.matchers.get(_shape_key(path), ()):
            m = regex.match(path)
            if m:
                if method is None or method in self.by_path[template]:
                    return template, m.groupdict()
                first = first or (template, m.groupdict())
        return first

    # -- dispatch -----------------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """The spec's paths as the app's routes, one per path template and every method, most specific first;
        the framework matches the path, the pipeline does the rest (auth before a 405, as Flowise)."""
        return [_RouteIndex([(API_PREFIX + template, self._endpoint(template)) for template in self.templates])]

    def catch_all(self) -> Route:
        return Route("/{rest:path}", self._endpoint(None))

    def _endpoint(self, template: str | None) -> ASGIApp:
        return _Endpoint(self, template)

    def not_found(self, request: Request) -> Response:
        """A path the spec does not have: under ``/api/v1`` the gate still comes first."""
        try:
            if "/api/v1/" in request.scope["path"].lower():
                self.authenticate(request)
        except FlowiseError as error:
            return error.response()
        return self.unknown_route(request)

    async def dispatch(self, request: Request, template: str | None = None) -> Response:
        """Answer ``request``, routed to ``template`` by the framework (``None``: match it here)."""
        op: Operation | None = None
        try:
            identity = self.authenticate(request)
            method = "GET" if request.method == "HEAD" else request.method
            if template is not None and method in self.by_path[template]:
                found: tuple[str, dict[str, str]] | None = (template, dict(request.path_params))
            else:  # another template of the same shape may serve this method
                found = self.route(request.scope["path"], method)
            if found is None:
                return self.unknown_route(request)
            template, path_params = found
            request.scope.setdefault("state", {})[ROUTE_KEY] = template
            methods = self.by_path[template]
            op = methods.get(method)
            if op is None:
                if request.method == "OPTIONS":
                    return Response(status_code=204, headers={"Allow": ", ".join(sorted(methods))})
                if self.settings.quirks_on:
                    return HTMLResponse(_UI_HTML)
                return JSONResponse(
                    {"statusCode": 405, "success": False,
                     "message": f"Method {request.method} is not allowed on {API_PREFIX}{template}", "stack": {}},
                    status_code=405, headers={"Allow": ", ".join(sorted(methods))})
            if versions.absent(self.settings, op.operation_id):  # no such route on the quirks' line
                if identity is None and versions.public(self.settings, request.scope["path"]) is not True \
                        and self.keys.identify(key_from_header(request.headers.get("authorization"))) is None:
                    raise GateUnauthorizedError()  # the gate runs first (a spec-public path is not public there)
                return self.unknown_route(request)
            if identity is None and not op.public and versions.public(self.settings, request.scope["path"]) is not True \
                    and not quirks.applies(self.settings, op, "leads-get-workspace-404"):  # 3.1 lists it as public
                # A route under a public prefix that the spec still protects (e.g. GET /leads/{id}).
                identity = self.keys.identify(key_from_header(request.headers.get("authorization")))
                if identity is None:
                    raise GateUnauthorizedError()
            if identity is not None and not identity.allows(op.permissions) and versions.has_permissions(self.settings) \
                    and not quirks.applies(self.settings, op, "executions-update-unguarded"):  # 3.0 checks none there
                raise ForbiddenError()
            call = await self.build_call(request, op, path_params, identity)
            extra_headers = self.before_handler(call)
            result = await self.handlers[op.operation_id](call)
            if request.method in ("POST", "PUT") and quirks.applies(self.settings, op, "no-input-validation"):
                result = _echo_sent(result, call.body)
            if self.settings.quirks_line is not None and not isinstance(result, Response):
                result = versions.shape(self.settings, result)  # an older line's answers lack later fields
            elif isinstance(result, EventStreamResponse) and self.settings.quirks_line is not None:
                older = versions.stream(self.settings, result.frames)  # an older line's end frame
                if older is not None:
                    result.frames = older
            response = self.to_response(result)
            for name, value in extra_headers.items():
                response.headers.setdefault(name, value)
        except FlowiseError as error:
            response = error.response()
        except Exception as exc:  # a handler bug: answer like Flowise's error handler, never a stack trace
            log.error("unhandled error in %s: %s", op.operation_id if op else request.scope["path"],
                      "".join(traceback.format_exception(exc)))
            where = op.operation_id if op else "server"
            response = error_response(500, f"Error: {where} - {type(exc).__name__}: {exc}")
        if op is not None and response.status_code not in (403, 429) \
                and response.status_code >= 400 and quirks.applies(self.settings, op, "stream-error-hang") \
                and await _asks_streaming(request):
            return await _hang(request)
        if op is not None and self.settings.strict and not self.settings.quirks_on and not is_injected(request):
            response = self.check_response(op, response)
        return response

    def unknown_route(self, request: Request) -> Response:
        if self.settings.quirks_on and request.scope["path"].startswith(API_PREFIX + "/"):
            return HTMLResponse(_UI_HTML)
        return error_response(404, f"Cannot {request.method} {request.scope['path']}")

    async def build_call(self, request: Request, op: Operation, path_params: dict[str, str],
                         identity: Identity | None) -> Call:
        path = self.validate_path(op, path_params)
        query = self.validate_query(op, request)
        body, files, media = await self.read_body(request, op)
        return Call(op.operation_id, request, self.state, path, query, body, identity, files, media)

    def validate_path(self, op: Operation, raw: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for param in op.parameters:
            if param.location != "path":
                continue
            value: Any = raw.get(param.name, "")
            value = _coerce(value, param.schema)
            errors = self.spec.errors(param.pointer, value)
            if errors and quirks.applies(self.settings, op, "malformed-id-accepted"):
                # Flowise looks a malformed id up as sent: the handler answers it as an unknown id.
                errors = [e for e in errors if e.validator != "format"]
            if errors:
                raise FlowiseError(400, describe(errors[0], where=f"path parameter '{param.name}'"))
            out[param.name] = value
        return out

    def validate_query(self, op: Operation, request: Request) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not op.query_parameters:
            return out
        params = request.query_params
        for param in op.query_parameters:
            if param.name not in params:
                if param.required:
                    raise FlowiseError(400, f"Invalid query parameter '{param.name}': it is required")
                continue
            if param.schema.get("type") == "array":
                value: Any = [_coerce(v, param.schema.get("items", {})) for v in params.getlist(param.name)]
            else:
                value = _coerce(params[param.name], param.schema)
            errors = self.spec.errors(param.pointer, value)
            if errors:
                raise FlowiseError(400, describe(errors[0], where=f"query parameter '{param.name}'"))
            out[param.name] = value
        return out

    async def read_body(self, request: Request, op: Operation) -> tuple[Any, list[UploadFile], str | None]:
        if not op.body_media:
            return None, [], None
        # The body's size and read time are bounded below the pipeline, while it is read (bodylimit.py).
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";")[0].strip().lower()
        if media == "multipart/form-data" or media == "application/x-www-form-urlencoded":
            if media not in op.body_media:
                raise _unsupported(op, media)
            try:
                form = await request.form()
            except FlowiseError:
                raise
            except Exception as exc:
                raise FlowiseError(400, f"Malformed {media} body: {exc}") from exc
            fields: dict[str, Any] = {}
            files: list[UploadFile] = []
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files.append(value)
                elif key in fields:
                    existing = fields[key]
                    fields[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
                else:
                    fields[key] = value
            self.validate_body(op, media, {**fields, **({"files": [f.filename or "" for f in files]} if files else {})})
            return fields, files, media
        raw = await request.body()
        if not raw.strip() and "application/json" not in op.body_media \
                and quirks.applies(self.settings, op, "client-error-500"):
            return {}, [], None  # multer finds no form: the service answers (with its 500s)
        json_only = media not in ("", "application/json") and not media.endswith("+json")
        if (not raw.strip() or json_only) and "application/json" in op.body_media \
                and quirks.applies(self.settings, op, "body-not-json-read-as-empty"):
            # express.json() parses only JSON: no body, or another media type, leaves req.body = {}.
            self.validate_body(op, "application/json", {})
            return {}, [], "application/json"
        if not raw.strip():
            if op.body_required:
                if op.documents(412):
                    raise FlowiseError(412, f"Error: {op.operation_id} - body not provided!")
                raise FlowiseError(400, "Invalid request body: a body is required")
            return None, [], None
        if media and media != "application/json" and not media.endswith("+json"):
            raise _unsupported(op, media)
        try:
            body = parse_json(raw)
        except MalformedJSONError as exc:
            raise FlowiseError(400, f"Malformed JSON body: {exc}") from None
        json_media = "application/json" if "application/json" in op.body_media else None
        if json_media is None:
            raise _unsupported(op, media or "application/json")
        self.validate_body(op, json_media, body)
        return body, [], json_media

    def validate_body(self, op: Operation, media: str, body: Any) -> None:
        pointer = op.body_media.get(media)
        if not pointer:
            return
        try:
            errors = self.spec.errors(pointer, body)
        except RecursionError:
            raise FlowiseError(400, "Invalid request body: nested too deeply") from None
        if quirks.applies(self.settings, op, "missing-question-accepted"):
            # Flowise answers a prediction with no input at all; only the root "one input is required" rule goes.
            errors = [e for e in errors if not (e.validator == "anyOf" and not list(e.absolute_path))]
        checked = _HANDLER_CHECKED.get(op.operation_id, frozenset())
        if not self.settings.quirks_on and op.operation_id not in _HANDLER_STATUS:
            checked = frozenset()  # the contract's 400 naming the field; the same status as Flowise's
        if any(e.validator == "required" and _missing_field(e) in checked for e in errors):
            return  # the handler refuses it first, with Flowise's own status and message
        if errors and self.settings.quirks_on:
            errors = _unvalidated(self.settings, op, errors)
        if errors:
            raise FlowiseError(400, describe(errors[0], where="request body"))

    def before_handler(self, call: Call) -> dict[str, str]:
        """Per-chatflow checks Flowise runs before the controller: allowed origins and the rate limiter."""
        op = self.spec.operations[call.operation_id]
        if not op.chatflow_key:
            return {}
        chatflow_id = call.path.get("id")
        chatflow = records.get(self.state.db, "chat_flow", chatflow_id) if chatflow_id else None
        if chatflow is None:
            return {}
        call.chatflow = chatflow
        if call.operation_id == "createPrediction":
            _check_allowed_origin(chatflow, call.request.headers.get("origin"))
        peer = call.request.client.host if call.request.client else "unknown"
        client = client_ip(peer, call.request.headers.get("x-forwarded-for"), self.settings.number_of_proxies)
        return self.limits.hit(chatflow, client)

    @staticmethod
    def to_response(result: Any) -> Response:
        if isinstance(result, Response):
            return result
        return JSONResponse(result)

    def check_response(self, op: Operation, response: Response) -> Response:
        """Strict mode: a response the spec does not document becomes a 500 naming the operation and pointer."""
        status = response.status_code
        key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in op.responses), None)
        if key is None:
            return _strict_failure(op, f"{op.pointer}/responses", f"status {status} is not documented")
        media = (response.headers.get("content-type") or "").split(";")[0].strip()
        documented = op.responses[key]
        if not documented:
            return response
        if media not in documented:
            return _strict_failure(op, f"{op.pointer}/responses/{key}/content",
                                   f"content type {media or '(none)'} is not documented")
        pointer = documented[media]
        if pointer is None or isinstance(response, StreamingResponse) or "json" not in media:
            return response
        try:
            instance = json.loads(bytes(response.body))
        except ValueError:
            return _strict_failure(op, pointer, "the body is not JSON")
        errors = self.spec.errors(pointer, instance)
        if errors:
            err = errors[0]
            where = "/" + "/".join(str(p) for p in err.absolute_path)
            return _strict_failure(op, pointer, f"body{where if where != '/' else ''}: {err.message[:300]}")
        return response


class _RouteIndex(BaseRoute):
    """The spec's paths as one route of the app: the path's first segment after ``/api/v1`` picks a group
    of a few templates (most specific first), each matched by one regular expression, and the matching
    path's endpoint gets the request. One lookup and a regex or two instead of asking every route in turn,
    the hot path's largest fixed cost."""

    def __init__(self, endpoints: list[tuple[str, ASGIApp]]) -> None:
        self.groups: dict[str, list[tuple[re.Pattern[str], ASGIApp]]] = {}
        for path, endpoint in endpoints:
            first = path[len(API_PREFIX) + 1:].split("/", 1)[0]
            if "{" in first:
                raise ValueError(f"{path}: a first segment must be literal to be indexed")
            self.groups.setdefault(first, []).append((_template_regex(path), endpoint))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # served under a root path: match what follows it
            path = path[len(root):]
        if scope["type"] != "http" or not path.startswith(API_PREFIX + "/"):
            return Match.NONE, {}
        for regex, endpoint in self.groups.get(path[len(API_PREFIX) + 1:].split("/", 1)[0], ()):
            m = regex.match(path)
            if m:
                return Match.FULL, {"endpoint": endpoint, "path_params": m.groupdict(), _INDEXED: endpoint}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[_INDEXED](scope, receive, send)


_INDEXED = "mock.route"


class _Endpoint:
    """The ASGI app behind one spec path (``template``; ``None``: the catch-all for paths the spec does not
    have). An object, not a request function, because the framework holds functions to GET: the
    pipeline answers every method itself (the gate first, then Flowise's 405)."""

    def __init__(self, pipeline: Pipeline, template: str | None) -> None:
        self.pipeline = pipeline
        self.template = template

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            if self.template is None:
                response = self.pipeline.not_found(request)
            else:
                response = await self.pipeline.dispatch(request, self.template)
            await _send_guarded(response, scope, receive, send)
        finally:
            await request.close()  # uploaded files the handler has stored


async def _send_guarded(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Send the pipeline's response; one that fails before its first byte becomes Flowise's 500 (a stream
    that fails later is cut: its status is already on the wire)."""
    started = False

    async def watched(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await response(scope, receive, watched)
    except Exception as exc:
        if started:
            raise
        log.error("unhandled error sending %s: %s", scope.get("path"), "".join(traceback.format_exception(exc)))
        await error_response(500, f"Error: {type(exc).__name__}: {exc}")(scope, receive, send)


class _InternalTokenMissing(FlowiseError):
    """``x-request-from: internal`` routes to Flowise's session-cookie auth, which the mock does not serve."""

    def __init__(self) -> None:
        super().__init__(401, "Invalid or Missing token")

    def response(self) -> Response:
        return JSONResponse({"message": "Invalid or Missing token"}, status_code=401)


async def _asks_streaming(request: Request) -> bool:
    """Did the body ask for a stream (``streaming`` true or "true")? Flowise's error handler keys on this."""
    try:
        media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media in _FORM_TYPES:
            body: Any = dict((await request.form()).items())
        else:
            body = json.loads(await request.body() or b"{}")
    except Exception:  # an unreadable body asked for nothing
        return False
    return isinstance(body, dict) and body.get("streaming") in (True, "true")


async def _hang(request: Request) -> Response:
    """Quirk ``stream-error-hang``: Flowise writes nothing for a streaming request that failed before the
    stream opened; the connection stays open until the client gives up."""
    while not await request.is_disconnected():
        await asyncio.sleep(0.5)
    return Response(status_code=499)


#: Required body fields a Flowise controller checks itself, before anything else, with its own answer
#: (412 ``keyName not provided!``, 400 ``Invalid Chatflow Type``, ...): under quirks the handler answers
#: their absence.
_HANDLER_CHECKED: dict[str, frozenset[str]] = {
    "createChatflow": frozenset({"type"}),
    "createApiKey": frozenset({"keyName"}),
    "updateApiKey": frozenset({"keyName", "permissions"}),
    "createChatMessageFeedback": frozenset({"messageId"}),
    "createChatMessageFeedbackForChatflow": frozenset({"messageId"}),
    "patchDeleteUpsertHistory": frozenset({"ids"}),
    "deleteExecutions": frozenset({"executionIds"}),
}
#: Of those, the operations whose controller answers another documented status than the contract's 400
#: (412 ``keyName not provided!``): the handler answers for them without quirks too.
_HANDLER_STATUS = frozenset({"createApiKey", "updateApiKey"})


def _missing_field(error: Any) -> str:
    """The property a ``required`` error names (``'name' is a required property``)."""
    parts = str(error.message).split("'")
    return parts[1] if len(parts) > 2 else ""


def _echo_sent(result: Any, body: Any) -> Any:
    """Quirk ``no-input-validation``: Flowise saves a mistyped scalar as sent and answers the saved
    entity, so a number sent for a text column comes back a number (the database keeps its text)."""
    if not isinstance(body, dict):
        return result
    sent = {key: value for key, value in body.items() if isinstance(value, bool | int | float)}
    if sent:
        _restore(result, sent)
    return result


def _restore(node: Any, sent: dict[str, Any]) -> None:
    """Put each sent scalar back wherever the answer carries it as text under the same key (a prediction's
    `question` also sits in its execution data)."""
    if isinstance(node, list):
        for item in node:
            _restore(item, sent)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in sent and isinstance(value, str) and value in (str(sent[key]), json.dumps(sent[key])):
                node[key] = sent[key]
            else:
                _restore(value, sent)


def _unvalidated(settings: MockSettings, op: Operation, errors: list[Any]) -> list[Any]:
    """Under quirks, what is left of the body's schema violations once Flowise's lack of validation is
    applied: a missing required field reaches the database (``missing-field-500``: a NOT NULL 500;
    ``client-error-500``: the service's 500), a mistyped one is stored as sent (``no-input-validation``)."""
    missing = [e for e in errors if e.validator == "required"]
    if missing and quirks.applies(settings, op, "missing-field-500"):
        field = _missing_field(missing[0]) or "field"
        raise FlowiseError(500, f"Error: {op.operation_id} - SQLITE_CONSTRAINT: NOT NULL constraint failed: {field}")
    if quirks.applies(settings, op, "no-input-validation"):
        errors = [e for e in errors if e.validator == "required"]
    if errors and quirks.applies(settings, op, "client-error-500"):
        raise FlowiseError(500, f"Error: {op.operation_id} - Invalid request body: {errors[0].message}")
    return errors


def _unsupported(op: Operation, media: str) -> FlowiseError:
    return FlowiseError(415, f"Unsupported content type {media!r} for {op.operation_id}; "
                             f"send one of: {', '.join(op.body_media)}")


def _strict_failure(op: Operation, pointer: str, problem: str) -> Response:
    message = f"Strict mode: the response of {op.operation_id} violates the spec at {pointer}: {problem}"
    log.error(message)
    return error_response(500, message)


def _check_allowed_origin(chatflow: dict[str, Any], origin: str | None) -> None:
    """``chatbotConfig.allowedOrigins``: a browser origin not listed gets 403 (no Origin header passes)."""
    if not origin:
        return
    config = json_object(chatflow.get("chatbotConfig"))
    origins = config.get("allowedOrigins")
    allowed = [o for o in origins if o] if isinstance(origins, list) else []
    if allowed and origin not in allowed and "*" not in allowed:
        message = config.get("allowedOriginsError") or "This site is not allowed to access this chatbot"
        raise FlowiseError(403, message)


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Turn a text parameter into the spec's type, leaving it as text when it does not parse (the validator
    then names the parameter)."""
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if not isinstance(value, str):
        return value
    if "integer" in types:
        try:
            return int(value)
        except ValueError:
            return value
    if "number" in types:
        try:
            return float(value)
        except ValueError:
            return value
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    return value


class RequestLog:
    """One log line and one metrics observation per request (pure ASGI: streaming passes untouched)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, enabled: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        scope.setdefault("state", {})[RECEIVED_AT] = asyncio.get_running_loop().time()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            millis = (time.perf_counter() - start) * 1000
            path = scope.get("path", "")
            route = scope.get("state", {}).get(ROUTE_KEY, "unmatched")
            self.metrics.observe(scope.get("method", ""), route, status, millis)
            if self.enabled:
                log.info('%s %s %d %.1fms', scope.get("method"), path, status, millis)


def build_state(settings: MockSettings, spec: Spec | None = None,
                registry: dict[str, Handler] | None = None) -> MockState:
    """Open the database, load the spec and make sure the workspace and an admin key exist."""
    spec = spec or load_spec()
    check_bindings(set(spec.operations), handlers if registry is None else registry)
    db = Database(settings.db, share_transactions=settings.workers == 1)
    workspace_id = db.meta("workspaceId")
    if workspace_id is None:
        workspace_id = new_id()
        db.set_meta("workspaceId", workspace_id)
    state = MockState(settings=settings, db=db, spec=spec, workspace_id=workspace_id)
    keys = state.keys
    state.admin_key = keys.ensure_admin(settings.api_key) if settings.auth_on else None
    sandbox = Limits(timeout_s=settings.js_timeout_s, memory_bytes=settings.js_memory, workers=settings.js_workers)
    if javascript.limits() != sandbox:
        javascript.configure(sandbox)
    if settings.script_file:
        from mockserver.llm.script import ScriptError, load_script

        try:
            load_script(settings.script_file)
        except ScriptError as exc:
            raise ValueError(f"--script {settings.script_file}: {exc}") from exc
    if settings.seed_file and db.meta("seeded") is None:
        from mockserver.control import load_fixtures, read_fixtures

        load_fixtures(state, read_fixtures(settings.seed_file))
        db.set_meta("seeded", settings.seed_file)
    return state


def create_app(settings: MockSettings | None = None, *, spec: Spec | None = None,
               registry: dict[str, Handler] | None = None) -> FastAPI:
    """Build the mock: raises ``UnboundOperationError`` or ``SpecError`` before serving anything if the spec
    and the handlers disagree or the spec cannot be read.

    ``spec`` and ``registry`` replace the spec file and the handler registry (tests of the pipeline itself).
    """
    settings = settings or MockSettings()
    registry = handlers if registry is None else registry
    state = build_state(settings, spec, registry)
    pipeline = Pipeline(state, registry)

    async def serve_spec(request: Request) -> Response:
        return Response(state.spec.raw_bytes, media_type="application/json")

    from mockserver.control import control_routes
    from mockserver.openai_compat import openai_routes

    options: dict[str, Any] = {"lifespan": _lifespan}
    if "telemetry" in inspect.signature(FastAPI).parameters:
        # The mock has its own metrics; FastAPI's OpenTelemetry probe costs every request a few lookups.
        options["telemetry"] = {"tracing": False, "metrics": False, "logs": False}
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()] or ["*"]
    cors: dict[str, Any] = {
        "allow_origins": origins, "allow_credentials": settings.cors_allow_credentials and origins != ["*"],
        "allow_methods": ["*"], "allow_headers": ["*"],
        "expose_headers": ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"]}
    app = FastAPI(title="flowise-mock", docs_url=None, redoc_url=None, openapi_url=None, **options)
    app.router.routes.extend([
        *pipeline.routes(),  # first: the hot path; no spec path shares a first segment with the rest
        Route(f"{API_PREFIX}/openapi.json", serve_spec, methods=["GET"]),
        Route("/api-docs", serve_spec, methods=["GET"]),
        Route("/openapi.json", serve_spec, methods=["GET"]),
        *control_routes(state),
        *openai_routes(state),
        pipeline.catch_all(),
    ])
    # Added innermost first: the request log sees every request, CORS answers preflights, no body
    # reaches a route past the size limit, and no answer leaves before its request's writes are on disk.
    app.add_middleware(DurableAnswers, durability=state.db.durability)
    app.add_middleware(BodyLimit, limit=settings.file_size_limit, timeout_s=settings.body_timeout_s)
    app.add_middleware(CORSMiddleware, **cors)
    app.add_middleware(RequestLog, metrics=state.metrics, enabled=settings.log_requests)
    app.state.mock = state

    async def on_http_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, FlowiseError):  # e.g. a body over the limit, met while a mock-only route read it
            return exc.response()
        status = getattr(exc, "status_code", 500)
        response = error_response(status, str(getattr(exc, "detail", "")) or "error")
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    from starlette.exceptions import HTTPException as StarletteHTTPException

    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_http_error)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On shutdown, before the server waits for its worker threads: kill the JavaScript workers, so a
    Custom Function still spinning ends its thread at once and the mock always stops."""
    yield
    javascript.shutdown()
