"""The scripted exchanges sent to every target of a fidelity comparison, and the runner that sends them.

The script is data: a list of `Step`s, sent in order, the same on the real Flowise and on each mock.
Later steps use what earlier ones created (`capture` stores a value of the answer under a name;
`$name` in a path or body reads it), so one script walks each family through create, list, read,
update, delete and the "it is gone" cases, then predictions (JSON and streaming) on every reference
flow, error cases and auth cases.

A step names the documented deviations (`CONTRIBUTING.md` ids) the real server is known to show on
it: the only differences a mock *without* quirks may have from the real server. Each result is an
`ExchangeResult`: the raw material the normaliser and the differ work on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from string import Template
from typing import Any

import httpx

from contract.sse import UNPARSED, parse_events

__all__ = [
    "MISSING_ID",
    "SCRIPT",
    "ExchangeResult",
    "Step",
    "TargetContext",
    "parse_sse_events",
    "resolve_path",
    "run_script",
    "run_step",
]

MISSING_ID = "00000000-0000-0000-0000-000000000000"
BOGUS_KEY = "bogus-key-0123456789"
DEFAULT_TIMEOUT = 30.0
#: Long enough for any real answer, short enough to call a stream that never opens a hang.
HANG_TIMEOUT = 6.0


@dataclass(frozen=True)
class Step:
    """One scripted request.

    `auth`: "full" (Bearer full key), "view" (Bearer view-only key), "bare" (the full key without
    "Bearer"), "bogus" (an unknown key) or "none". `raw` sends a body verbatim (malformed JSON).
    `capture` maps a variable name to a path in the JSON answer (`id`, `0.id`, `[keyName=x].id`).
    `deviations` are the documented deviation ids the real server shows here.
    """

    name: str
    family: str
    operation: str
    method: str
    path: str
    json: Any = None
    raw: str | None = None
    auth: str = "full"
    stream: bool = False
    capture: Mapping[str, str] = field(default_factory=dict)
    deviations: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    #: The check name under which a failure here would be reported (for deviation matching).
    check: str = "fidelity"
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The standard case this step belongs to (`cases.py`; "setup" for the resources a case creates), or "".
    case: str = ""


@dataclass
class TargetContext:
    """One target of the comparison: where it is, its keys, and the variables the script fills."""

    label: str
    base_url: str
    full_key: str
    view_key: str
    variables: dict[str, str] = field(default_factory=dict)

    def auth_headers(self, auth: str) -> dict[str, str]:
        return {
            "full": {"Authorization": f"Bearer {self.full_key}"},
            "view": {"Authorization": f"Bearer {self.view_key}"},
            "bare": {"Authorization": self.full_key},
            "bogus": {"Authorization": f"Bearer {BOGUS_KEY}"},
            "none": {},
        }[auth]


@dataclass
class ExchangeResult:
    """What one step got from one target: status, headers, body, SSE event names, or a transport error."""

    step: str
    family: str
    operation: str
    method: str
    path: str
    request_body: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    events: list[str] | None = None
    error: str | None = None
    elapsed: float = 0.0

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "family": self.family,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "request_body": self.request_body,
            "status": self.status,
            "headers": self.headers,
            "body": self.body[:4000],
            "events": self.events,
            "error": self.error,
            "elapsed": round(self.elapsed, 3),
        }


def parse_sse_events(text: str) -> list[str]:
    """Event names of a prediction stream, in order (Flowise's name inside the JSON, else an ``event:``
    line, so any SSE dialect yields names; frames with neither are left out)."""
    return [frame.event for frame in parse_events(text) if frame.event != UNPARSED]


def resolve_path(data: Any, path: str) -> Any:
    """Read `a.0.b` or `[key=value].b` out of decoded JSON; None when absent."""
    current = data
    for part in path.split("."):
        if current is None:
            return None
        if part.startswith("[") and part.endswith("]") and "=" in part:
            key, _, value = part[1:-1].partition("=")
            items = current if isinstance(current, list) else []
            matches = [item for item in items if isinstance(item, dict) and str(item.get(key)) == value]
            current = matches[-1] if matches else None
        elif isinstance(current, list):
            try:
                current = current[int(part)]
            except (ValueError, IndexError):
                return None
        elif isinstance(current, dict):
            current = current.get(part)
        else:
            return None
    return current


def _fill(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return Template(value).safe_substitute(variables)
    if isinstance(value, dict):
        return {key: _fill(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, variables) for item in value]
    return value


def run_step(client: httpx.Client, target: TargetContext, step: Step) -> ExchangeResult:
    """Send one step to one target and record what came back (never raises for HTTP or transport errors)."""
    path = "/api/v1" + _fill(step.path, target.variables)
    headers = {**target.auth_headers(step.auth), **step.headers}
    content: str | None = None
    if step.raw is not None:
        content = _fill(step.raw, target.variables)
        headers.setdefault("Content-Type", "application/json")
    elif step.json is not None:
        content = json.dumps(_fill(step.json, target.variables))
        headers["Content-Type"] = "application/json"
    result = ExchangeResult(step.name, step.family, step.operation, step.method, path, request_body=content)
    timeout = httpx.Timeout(step.timeout, connect=5.0)
    started = time.monotonic()
    try:
        with client.stream(step.method, target.base_url + path, headers=headers, content=content, timeout=timeout) as response:
            result.status = response.status_code
            result.headers = {name.lower(): value for name, value in response.headers.items()}
            result.body = response.read().decode("utf-8", errors="replace")
    except httpx.TimeoutException:
        result.error = "timeout"
    except httpx.TransportError as exc:
        result.error = f"connection: {type(exc).__name__}"
    result.elapsed = time.monotonic() - started
    if result.status is not None and "text/event-stream" in result.content_type:
        result.events = parse_sse_events(result.body)
    data = result.json()
    for name, where in step.capture.items():
        value = resolve_path(data, where)
        if value is not None:
            target.variables[name] = str(value)
    return result


def run_script(
    target: TargetContext,
    steps: Iterable[Step] | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    on_result: Callable[[ExchangeResult], None] | None = None,
) -> list[ExchangeResult]:
    """Send every step, in order, to one target."""
    target.variables.setdefault("missing", MISSING_ID)
    target.variables.setdefault("full_key", target.full_key)
    results: list[ExchangeResult] = []
    with httpx.Client(transport=transport, follow_redirects=False) as client:
        for step in SCRIPT if steps is None else steps:
            result = run_step(client, target, step)
            results.append(result)
            if on_result:
                on_result(result)
    return results


def _crud(
    family: str,
    collection: str,
    create: dict[str, Any],
    update: dict[str, Any],
    *,
    ops: tuple[str, str, str, str, str],
    capture: str = "id",
    get_item: bool = True,
    get_missing: tuple[str, ...] = (),
    put_missing: tuple[str, ...] = (),
    delete_missing: tuple[str, ...] = (),
) -> list[Step]:
    """Create, list, read, update, delete, then read/update/delete the now-missing id."""
    create_op, list_op, get_op, update_op, delete_op = ops
    var = family
    item = f"{collection}/${var}"
    missing = f"{collection}/$missing"
    steps = [
        Step(f"{family}: create", family, create_op, "POST", collection, json=create, capture={var: capture}),
        Step(f"{family}: list", family, list_op, "GET", collection),
    ]
    if get_item:
        steps.append(Step(f"{family}: get", family, get_op, "GET", item))
    steps += [
        Step(f"{family}: update", family, update_op, "PUT", item, json=update),
        Step(f"{family}: delete", family, delete_op, "DELETE", item),
    ]
    if get_item:
        steps.append(Step(f"{family}: get missing", family, get_op, "GET", missing, deviations=get_missing))
    steps += [
        Step(f"{family}: update missing", family, update_op, "PUT", missing, json=update, deviations=put_missing),
        Step(f"{family}: delete missing", family, delete_op, "DELETE", missing, deviations=delete_missing),
    ]
    return steps


def _predictions(label: str, flow: str) -> list[Step]:
    """JSON and streaming prediction on one reference flow, then its chat history."""
    return [
        Step(
            f"prediction {label}: JSON",
            "prediction",
            "createPrediction",
            "POST",
            f"/prediction/${flow}",
            json={"question": "hi"},
            auth="none",
            capture={f"{flow}_chat": "chatId", f"{flow}_message": "chatMessageId"},
        ),
        Step(
            f"prediction {label}: streaming",
            "prediction",
            "createPrediction",
            "POST",
            f"/prediction/${flow}",
            json={"question": "hi", "streaming": True},
            auth="none",
        ),
        Step(
            f"prediction {label}: same session remembers",
            "prediction",
            "createPrediction",
            "POST",
            f"/prediction/${flow}",
            json={"question": "again", "chatId": f"${flow}_chat"},
            auth="none",
        ),
        Step(f"chatmessage {label}: list", "chatmessage", "getAllChatMessages", "GET", f"/chatmessage/${flow}"),
    ]


def _human_input() -> list[Step]:
    """The human-input agentflow: a run stops with an action, a decision resumes it (JSON and streaming),
    and the two resumes that cannot apply."""

    def resume(chat: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"chatId": chat, "humanInput": {"type": kind, "startNodeId": "humanInputAgentflow_0", **extra}}

    def step(name: str, body: dict[str, Any], **options: Any) -> Step:
        return Step(f"human input: {name}", "prediction", "createPrediction", "POST", "/prediction/$human_input",
                    json=body, auth="none", **options)

    return [
        step("a run stops with an action", {"question": "hi", "chatId": "fidelity-hitl-json"}),
        step("proceed resumes it", {"question": "ok", **resume("fidelity-hitl-json", "proceed", feedback="ok")}),
        step("a finished run is not resumed", resume("fidelity-hitl-json", "proceed"), deviations=("client-error-500",)),
        step("a stream stops with an action", {"question": "hi", "chatId": "fidelity-hitl-stream", "streaming": True}),
        step("reject resumes the stream", {**resume("fidelity-hitl-stream", "reject"), "streaming": True}),
        step("nothing to resume", resume("fidelity-hitl-none", "proceed"), deviations=("client-error-500",)),
        step("a second run stops", {"question": "again", "chatId": "fidelity-hitl-auto"}),
        step("no startNodeId resumes the last stop", {"chatId": "fidelity-hitl-auto", "humanInput": {"type": "proceed"}}),
        Step("chatmessage human input: list", "chatmessage", "getAllChatMessages", "GET", "/chatmessage/$human_input"),
    ]


SCRIPT: list[Step] = [
    # -- public, no auth --------------------------------------------------------------------------
    Step("ping", "system", "pingServer", "GET", "/ping", auth="none"),
    Step("version", "system", "getVersion", "GET", "/version", auth="none"),
    # -- auth cases -------------------------------------------------------------------------------
    Step("auth: no key on a management route", "auth", "listChatflows", "GET", "/chatflows", auth="none"),
    Step("auth: unknown key", "auth", "listChatflows", "GET", "/chatflows", auth="bogus"),
    Step("auth: key without Bearer", "auth", "listChatflows", "GET", "/chatflows", auth="bare"),
    Step("auth: view key may list chatflows", "auth", "listChatflows", "GET", "/chatflows", auth="view"),
    Step(
        "auth: view key may not create a chatflow",
        "auth",
        "createChatflow",
        "POST",
        "/chatflows",
        json={"name": "fidelity-forbidden", "flowData": '{"nodes":[],"edges":[]}', "type": "CHATFLOW"},
        auth="view",
    ),
    Step("auth: view key may not list credentials", "auth", "getAllCredentials", "GET", "/credentials", auth="view"),
    Step("auth: verify a valid key", "auth", "verifyApiKey", "GET", "/verify/apikey/$full_key", auth="none"),
    Step("auth: verify an unknown key", "auth", "verifyApiKey", "GET", "/verify/apikey/" + BOGUS_KEY, auth="none"),
    Step("auth: chatflows of a key", "auth", "getChatflowByApiKey", "GET", "/chatflows/apikey/$full_key", auth="none"),
    Step(
        "auth: unknown route with a key",
        "auth",
        "unknownRoute",
        "GET",
        "/no-such-route",
        deviations=("unknown-route-html",),
    ),
    Step("auth: unknown route without a key", "auth", "unknownRoute", "GET", "/no-such-route", auth="none"),
    # -- chatflows ----------------------------------------------------------------------------------
    *_crud(
        "chatflow",
        "/chatflows",
        {"name": "fidelity-chatflow", "flowData": "$direct_flow_data", "type": "AGENTFLOW"},
        {"name": "fidelity-chatflow-renamed", "deployed": True, "category": "a;b"},
        ops=("createChatflow", "listChatflows", "getChatflowById", "updateChatflow", "deleteChatflow"),
        delete_missing=("missing-id-500",),
    ),
    Step(
        "chatflow: has changed",
        "chatflow",
        "checkIfChatflowHasChanged",
        "GET",
        "/chatflows/has-changed/$direct/2020-01-01T00:00:00.000Z",
    ),
    Step("chatflow: list agentflows", "chatflow", "listChatflows", "GET", "/chatflows?type=AGENTFLOW"),
    Step(
        "chatflow: create without type",
        "chatflow",
        "createChatflow",
        "POST",
        "/chatflows",
        json={"name": "fidelity-no-type"},
    ),
    Step("chatflow: malformed JSON", "chatflow", "createChatflow", "POST", "/chatflows", raw='{"name": '),
    # -- widget helpers ------------------------------------------------------------------------------
    Step("widget: streaming flag", "public", "checkIfChatflowIsValidForStreaming", "GET", "/chatflows-streaming/$direct", auth="none"),
    Step(
        "widget: streaming flag, missing flow",
        "public",
        "checkIfChatflowIsValidForStreaming",
        "GET",
        "/chatflows-streaming/$missing",
        auth="none",
        deviations=("missing-id-500",),
    ),
    Step("widget: chatbot config", "public", "getSinglePublicChatbotConfig", "GET", "/public-chatbotConfig/$direct", auth="none"),
    Step(
        "widget: chatbot config, missing flow",
        "public",
        "getSinglePublicChatbotConfig",
        "GET",
        "/public-chatbotConfig/$missing",
        auth="none",
        deviations=("missing-id-500",),
    ),
    Step("widget: uploads", "public", "checkIfChatflowIsValidForUploads", "GET", "/chatflows-uploads/$direct", auth="none"),
    Step("widget: non-public chatflow", "public", "getSinglePublicChatflow", "GET", "/public-chatflows/$direct", auth="none"),
    # -- predictions on each reference flow ---------------------------------------------------------
    *_predictions("direct reply", "direct"),
    *_predictions("conversation chain", "chatflow_llm"),
    *_predictions("agentflow LLM", "agentflow_llm"),
    *_human_input(),
    Step("condition: the matching branch", "prediction", "createPrediction", "POST", "/prediction/$condition",
         json={"question": "I want a refund"}, auth="none"),
    Step("condition: the else branch, streaming", "prediction", "createPrediction", "POST", "/prediction/$condition",
         json={"question": "hello", "streaming": True}, auth="none"),
    Step("loop: round and round, then the fallback", "prediction", "createPrediction", "POST", "/prediction/$loop",
         json={"question": "hi"}, auth="none"),
    Step("loop: the fallback streamed", "prediction", "createPrediction", "POST", "/prediction/$loop",
         json={"question": "hi", "streaming": True}, auth="none"),
    Step("flow state: seeded, read and updated", "prediction", "createPrediction", "POST", "/prediction/$state",
         json={"question": "hi"}, auth="none"),
    Step("join: a node waits for all its inputs", "prediction", "createPrediction", "POST", "/prediction/$join",
         json={"question": "hi"}, auth="none"),
    Step("join: streamed", "prediction", "createPrediction", "POST", "/prediction/$join",
         json={"question": "hi", "streaming": True}, auth="none"),
    Step("persisted state: a first run", "prediction", "createPrediction", "POST", "/prediction/$persist_state",
         json={"question": "hi", "chatId": "fidelity-persist"}, auth="none"),
    Step("persisted state: the next run starts from it", "prediction", "createPrediction", "POST",
         "/prediction/$persist_state", json={"question": "again", "chatId": "fidelity-persist"}, auth="none"),
    Step("execute flow: another flow answers", "prediction", "createPrediction", "POST", "/prediction/$execute_flow",
         json={"question": "hi", "chatId": "fidelity-execute"}, auth="none"),
    Step("execute flow: streamed", "prediction", "createPrediction", "POST", "/prediction/$execute_flow",
         json={"question": "hi", "streaming": True}, auth="none"),
    Step("execute flow: the called flow's messages", "chatmessage", "getAllChatMessages", "GET",
         "/chatmessage/$direct?chatId=fidelity-execute"),
    Step("execute flow: a missing flow's error is the answer", "prediction", "createPrediction", "POST",
         "/prediction/$execute_missing_flow", json={"question": "hi"}, auth="none"),
    Step("execute flow: a flow calling itself fails", "prediction", "createPrediction", "POST",
         "/prediction/$execute_itself", json={"question": "hi"}, auth="none"),
    Step("execute flow: the failure streamed", "prediction", "createPrediction", "POST",
         "/prediction/$execute_itself", json={"question": "hi", "streaming": True}, auth="none"),
    Step("custom function: JavaScript answers", "prediction", "createPrediction", "POST", "/prediction/$custom_function",
         json={"question": "hi"}, auth="none"),
    Step("custom function: streamed", "prediction", "createPrediction", "POST", "/prediction/$custom_function",
         json={"question": "hi", "streaming": True}, auth="none"),
    Step("custom function: code that throws fails the node", "prediction", "createPrediction", "POST",
         "/prediction/$custom_function_throws", json={"question": "hi"}, auth="none"),
    Step("iteration: the block runs per item", "prediction", "createPrediction", "POST", "/prediction/$iteration",
         json={"question": "hi"}, auth="none"),
    Step("iteration: streamed", "prediction", "createPrediction", "POST", "/prediction/$iteration",
         json={"question": "hi", "streaming": True}, auth="none"),
    Step("condition agent: the scenario that fits", "prediction", "createPrediction", "POST",
         "/prediction/$condition_agent", json={"question": "I want a refund for my order"}, auth="none"),
    Step("condition agent: the other scenario, streamed", "prediction", "createPrediction", "POST",
         "/prediction/$condition_agent", json={"question": "What time is it?", "streaming": True}, auth="none"),
    Step("human loop: a run stops", "prediction", "createPrediction", "POST", "/prediction/$human_loop",
         json={"question": "hi", "chatId": "fidelity-loop"}, auth="none"),
    Step("human loop: reject loops back and stops again", "prediction", "createPrediction", "POST",
         "/prediction/$human_loop", auth="none", json={
             "chatId": "fidelity-loop", "streaming": True,
             "humanInput": {"type": "reject", "startNodeId": "humanInputAgentflow_0"}}),
    Step("human loop: proceed ends it", "prediction", "createPrediction", "POST", "/prediction/$human_loop",
         auth="none", json={"question": "ok", "chatId": "fidelity-loop",
                            "humanInput": {"type": "proceed", "startNodeId": "humanInputAgentflow_0"}}),
    # -- prediction errors --------------------------------------------------------------------------
    Step("prediction: unknown flow", "prediction", "createPrediction", "POST", "/prediction/$missing", json={"question": "hi"}, auth="none"),
    Step("prediction: invalid flow id", "prediction", "createPrediction", "POST", "/prediction/not-a-uuid", json={"question": "hi"}, auth="none"),
    Step(
        "prediction: malformed JSON",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/$direct",
        raw='{"question": "hi"',
        auth="none",
    ),
    Step(
        "prediction: no question",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/$direct",
        json={},
        auth="none",
        deviations=("missing-question-accepted",),
        check="missing_question_is_rejected",
    ),
    Step(
        "prediction: streaming, unknown flow",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/$missing",
        json={"question": "hi", "streaming": True},
        auth="none",
        timeout=HANG_TIMEOUT,
        deviations=("stream-error-hang",),
    ),
    Step(
        "prediction: streaming, invalid flow id",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/not-a-uuid",
        json={"question": "hi", "streaming": True},
        auth="none",
        timeout=HANG_TIMEOUT,
        deviations=("stream-error-hang",),
    ),
    Step(
        "prediction: GET is not a route",
        "prediction",
        "unknownRoute",
        "GET",
        "/prediction/$direct",
        auth="none",
        deviations=("unknown-route-html",),
    ),
    # -- chatflow-bound key ------------------------------------------------------------------------
    Step(
        "bound key: no key",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/$protected",
        json={"question": "hi"},
        auth="none",
        deviations=("flow-key-500",),
    ),
    Step(
        "bound key: another valid key",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/$protected",
        json={"question": "hi"},
        auth="view",
        deviations=("flow-key-500",),
    ),
    Step(
        "bound key: the bound key",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/$protected",
        json={"question": "hi"},
    ),
    Step(
        "bound key: streaming, no key",
        "prediction",
        "createPrediction",
        "POST",
        "/prediction/$protected",
        json={"question": "hi", "streaming": True},
        auth="none",
        deviations=("flow-key-500",),
    ),
    # -- rate limit (limitMax 2 per 60 s) ------------------------------------------------------------
    *(
        Step(
            f"rate limit: request {n}",
            "prediction",
            "createPrediction",
            "POST",
            "/prediction/$rate_limited",
            json={"question": "hi"},
            auth="none",
        )
        for n in (1, 2, 3)
    ),
    # -- feedback and leads (on the direct-reply answer) --------------------------------------------
    Step(
        "feedback: create",
        "feedback",
        "createChatMessageFeedback",
        "POST",
        "/feedback",
        json={"chatflowid": "$direct", "chatId": "$direct_chat", "messageId": "$direct_message", "rating": "THUMBS_UP", "content": "good"},
        auth="none",
        capture={"feedback": "id"},
    ),
    Step(
        "feedback: update",
        "feedback",
        "updateChatMessageFeedbackForChatflow",
        "PUT",
        "/feedback/$feedback",
        json={"rating": "THUMBS_DOWN"},
        auth="none",
    ),
    Step("feedback: list", "feedback", "getAllChatMessageFeedback", "GET", "/feedback/$direct", auth="none"),
    Step(
        "feedback: no messageId",
        "feedback",
        "createChatMessageFeedback",
        "POST",
        "/feedback",
        json={"chatflowid": "$direct", "chatId": "$direct_chat", "rating": "THUMBS_UP"},
        auth="none",
    ),
    Step(
        "feedback: wrong chatId",
        "feedback",
        "createChatMessageFeedback",
        "POST",
        "/feedback",
        json={"chatflowid": "$direct", "chatId": "wrong-chat", "messageId": "$direct_message", "rating": "THUMBS_UP"},
        auth="none",
    ),
    Step(
        "leads: create",
        "leads",
        "createLead",
        "POST",
        "/leads",
        json={"chatflowid": "$direct", "chatId": "$direct_chat", "name": "Ada", "email": "ada@example.com", "phone": "1"},
        auth="none",
    ),
    Step(
        "leads: list with a key",
        "leads",
        "getAllLeadsForChatflow",
        "GET",
        "/leads/$direct",
        deviations=("leads-get-workspace-404",),
    ),
    Step("upsert history: list", "chatmessage", "getAllUpsertHistory", "GET", "/upsert-history/$direct"),
    Step("chatmessage: without a key", "chatmessage", "getAllChatMessages", "GET", "/chatmessage/$direct", auth="none"),
    Step(
        "chatmessage: delete, unknown chatflow",
        "chatmessage",
        "removeAllChatMessages",
        "DELETE",
        "/chatmessage/$missing",
    ),
    Step(
        "chatmessage: delete one chat",
        "chatmessage",
        "removeAllChatMessages",
        "DELETE",
        "/chatmessage/$direct?chatId=$direct_chat",
    ),
    # -- the other families --------------------------------------------------------------------------
    *_crud(
        "tool",
        "/tools",
        {"name": "fidelity_tool", "description": "a fidelity tool", "color": "#123456", "schema": "[]", "func": "return 'ok';"},
        {"description": "renamed"},
        ops=("createTool", "getAllTools", "getToolById", "updateTool", "deleteTool"),
        get_missing=("missing-id-500",),
        put_missing=("missing-id-500",),
        delete_missing=("delete-missing-200",),
    ),
    *_crud(
        "variable",
        "/variables",
        {"name": "fidelity_var", "value": "v1", "type": "static"},
        {"value": "v2"},
        ops=("createVariable", "getAllVariables", "", "updateVariable", "deleteVariable"),
        get_item=False,
        put_missing=("not-found-text",),
        delete_missing=("delete-missing-200",),
    ),
    *_crud(
        "credential",
        "/credentials",
        {"name": "fidelity-credential", "credentialName": "openAIApi", "plainDataObj": {"openAIApiKey": "sk-fidelity"}},
        {"name": "fidelity-credential-renamed"},
        ops=("createCredential", "getAllCredentials", "getCredentialById", "updateCredential", "deleteCredentials"),
        get_missing=("missing-id-500",),
        put_missing=("missing-id-500",),
        delete_missing=("delete-missing-200",),
    ),
    *_crud(
        "assistant",
        "/assistants",
        {"details": '{"name":"fidelity-assistant","instructions":"be brief"}', "credential": "$credential_id", "type": "CUSTOM"},
        {"details": '{"name":"fidelity-assistant-renamed"}'},
        ops=("createAssistant", "listAssistants", "getAssistantById", "updateAssistant", "deleteAssistant"),
        get_missing=("missing-id-500",),
        put_missing=("missing-id-500",),
        delete_missing=("missing-id-500",),
    ),
    *_crud(
        "document_store",
        "/document-store/store",
        {"name": "fidelity-store", "description": "a fidelity store"},
        {"description": "renamed"},
        ops=("createDocumentStore", "getAllDocumentStores", "getDocumentStoreById", "updateDocumentStore", "deleteDocumentStore"),
        get_missing=("missing-id-500",),  # 3.0 and 2.2 wrap the 404 into a 500; 3.1 answers it
        put_missing=("missing-id-500",),
        delete_missing=("missing-id-500",),
    ),
    *_crud(
        "apikey",
        "/apikey",
        {"keyName": "fidelity-key", "permissions": ["chatflows:view"]},
        {"keyName": "fidelity-key-renamed", "permissions": ["chatflows:view"]},
        ops=("createApiKey", "getAllApiKeys", "", "updateApiKey", "deleteApiKey"),
        capture="[keyName=fidelity-key].id",
        get_item=False,
        delete_missing=("delete-missing-200",),
    ),
    Step("apikey: create without permissions", "apikey", "createApiKey", "POST", "/apikey", json={"keyName": "fidelity-bad"}),
    Step("metrics", "system", "getMetrics", "GET", "/metrics"),
    Step("metrics: without a key", "system", "getMetrics", "GET", "/metrics", auth="none"),
]
