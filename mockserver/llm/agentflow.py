"""AgentflowV2 execution, faked: nodes run in graph order and report Flowise's executed data.

A ``type: AGENTFLOW`` chatflow answers with ``executionId`` and ``agentFlowExecutedData`` (one entry per
node: ``{nodeId, nodeLabel, data: {id, name, input, output, state}, previousNodeIds, status}``) and
streams ``nextAgentFlow``/``agentFlowExecutedData`` events around each node (flowise-observed.md §4.5,
§5.2). Nodes the mock understands:

- ``startAgentflow``: passes the question (or the form) on;
- ``directReplyAgentflow``: answers exactly ``directReplyMessage`` with ``{{ question }}`` (and
  ``{{ $vars.x }}``, ``{{ <nodeId> }}``, ``{{ chat_history }}``) substituted: "Echo: {{ question }}" →
  "Echo: hi", like the real one, no LLM involved;
- ``llmAgentflow`` / ``agentAgentflow``: the fake LLM (answer.py), with the session's history when
  ``llmEnableMemory``/``agentEnableMemory`` is on, the agent's tools and knowledge stores;
- ``retrieverAgentflow``: the matching chunks' text;
- ``customFunctionAgentflow``: its JavaScript runs in an embedded V8 (javascript.py) and returns the
  content;
- ``iterationAgentflow``: the nodes inside it run once per item of its ``iterationInput`` array;
- ``executeFlowAgentflow``: another chatflow of the mock answers ``executeFlowInput`` as a prediction
  with this run's ``chatId`` (and stores its own messages); its answer is the node's content;
- ``conditionAgentflow``: the first of its conditions (string, number or boolean comparisons, values
  resolved like any ``{{ ... }}``) that holds is fulfilled, else the Else; the run follows that output's
  edges (``-output-<index>``, the Else after the last condition) and skips the others;
- ``conditionAgentAgentflow``: the fake model picks the scenario the input is about (scenarios.py) and
  the run follows that output's edges only;
- ``loopAgentflow``: runs ``loopBackToNode`` (and what follows it) again, up to ``maxLoopCount`` jumps per
  request, then answers its fallback message;
- ``humanInputAgentflow``: the run stops there (node and execution ``STOPPED``) and answers the last
  message and the node's question ("Do you want to proceed?") with an ``action`` offering Proceed and
  Reject; a later request with ``humanInput: {type, startNodeId, feedback?}`` resumes the same
  execution at that node and follows its ``proceed`` (``-output-0``) or ``reject`` (``-output-1``) edges;
- anything else passes its predecessor's content through.

The flow state (``{{ $flow.state.<key> }}``) starts as the Start node's ``startState`` (overlaid, when its
``startPersistState`` is on, with the state the session's previous execution ended with) and takes the
``llmUpdateState`` / ``agentUpdateState`` / ``loopUpdateState`` entries of the nodes that run (``{{ output }}``
there is what the node answered); each executed-data entry records the state its node left.

A node several edges lead to runs once all of them have delivered, but for branches behind a decision,
where one arrival per decision is enough (joins.py). Only a node with no outgoing edge streams its
tokens, as in Flowise (``isLastNode``); the answer is the content of the last node run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from markdownify import markdownify

from mockserver.llm.answer import Attachment, Prompt, compose, tokenize
from mockserver.llm.conditions import first_fulfilled, has_number, parse_float
from mockserver.llm.flow import FlowProfile, Node
from mockserver.llm.javascript import JavaScriptError, run_function
from mockserver.llm.joins import Joins
from mockserver.llm.memory import Turn
from mockserver.llm.retrieval import retrieve
from mockserver.llm.scenarios import best_scenario, scenario_answer
from mockserver.llm.tools import run_tools
from mockserver.store.db import Database, new_id

__all__ = ["CUSTOM_FUNCTION", "HUMAN_INPUT", "AgentflowContext", "AgentflowResult", "ExecutedNode", "NodeFailure", "Resume", "run_agentflow",
           "substitute"]

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_LLM_NODES = ("llmAgentflow", "agentAgentflow")
HUMAN_INPUT = "humanInputAgentflow"
CONDITION = "conditionAgentflow"
LOOP = "loopAgentflow"
EXECUTE_FLOW = "executeFlowAgentflow"
CUSTOM_FUNCTION = "customFunctionAgentflow"
ITERATION = "iterationAgentflow"
CONDITION_AGENT = "conditionAgentAgentflow"
_DEFAULT_MAX_LOOPS = 5
_MAX_NESTING = 5
#: Flowise's test for editor HTML: a value that opens with a block tag.
_EDITOR_HTML = re.compile(r"^\s*<(?:p|div|h[1-6]|ul|ol|blockquote|pre|table)\b", re.IGNORECASE)
_DEFAULT_HUMAN_QUESTION = "Do you want to proceed?"


@dataclass
class AgentflowContext:
    """What every node may read: the question, the conversation, variables and the fake LLM's knobs."""

    db: Database
    question: str
    chat_id: str
    session_id: str
    history: list[Turn] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    form: dict[str, Any] | None = None
    seed: int | None = None
    answer_tokens: int | None = None
    #: False when the request carried no question at all (Flowise then records none on the Start node)
    question_given: bool = True
    #: the flow state (``$flow.state``): the Start node's ``startState``, updated by the nodes that set it
    state: dict[str, Any] = field(default_factory=dict)
    chatflow_id: str = ""
    #: the state the session's previous run ended with, laid over ``startState`` when the Start node's
    #: ``startPersistState`` is on
    persisted_state: dict[str, Any] = field(default_factory=dict)
    #: how many turns at the end of ``history`` are the stored conversation (the rest came with the request)
    stored_turns: int = 0
    #: runs another chatflow as a prediction of this server (question, ``chatId``, ``overrideConfig``) and
    #: returns its JSON answer, or its error body when it fails (Execute Flow nodes)
    execute_flow: Callable[[str, str, Any], dict[str, Any]] | None = None
    #: inside an Iteration node: ``{index, value, isFirst, isLast, sessionId}`` of the item being run
    iteration: dict[str, Any] | None = None
    #: how many Iteration nodes this run is inside
    nesting: int = 0


@dataclass
class ExecutedNode:
    """One node's run: its executed-data entry, and (for the last node) what it streams."""

    node: Node
    previous: list[str]
    input: dict[str, Any]
    output: dict[str, Any]
    tokens: list[str] = field(default_factory=list)
    #: events the node emits after its tokens (the LLM node's trailing empty tokens, calledTools, usage)
    trailing: list[tuple[str, Any]] = field(default_factory=list)
    single_token: bool = False
    #: further ``data`` keys of the executed-data entry (the LLM node's ``chatHistory``)
    extra: dict[str, Any] = field(default_factory=dict)
    #: FINISHED, or STOPPED for a human-input node waiting for its answer
    status: str = "FINISHED"
    #: events sent once the node's executed data has gone out (a Loop's fallback message)
    after: list[tuple[str, Any]] = field(default_factory=list)
    #: the flow state as this node left it
    state: dict[str, Any] = field(default_factory=dict)
    #: why the node failed (its status is then ERROR)
    error: str | None = None
    #: an Iteration node's runs of the nodes inside it, item after item (their entries precede its own)
    children: list[ExecutedNode] = field(default_factory=list)
    #: False for the nodes of an iteration run that failed: their progress was streamed, but Flowise keeps
    #: no executed data of that run
    recorded: bool = True

    def entries(self) -> list[dict[str, Any]]:
        if not self.recorded:
            return []
        return [*(e for child in self.children for e in child.entries()), self.entry()]

    def entry(self, status: str | None = None, *, error: str | None = None) -> dict[str, Any]:
        error = error if error is not None else self.error
        ident = {"nodeId": self.node.id, "nodeLabel": self.node.label}
        data: dict[str, Any] = {"id": self.node.id, "name": self.node.name}
        if error is not None:  # Flowise's entry for a node that failed or was cancelled, in its key order
            return {**ident, "previousNodeIds": self.previous, "data": {**data, "error": error},
                    "status": status or self.status}
        data.update({"input": self.input, "output": self.output, "state": self.state, **self.extra})
        return {**ident, "data": data, "previousNodeIds": self.previous, "status": status or self.status}

    @property
    def content(self) -> str:
        value = self.output.get("content")
        return value if isinstance(value, str) else ""


@dataclass
class AgentflowResult:
    """The whole run: executed nodes in order, the answer, and what the last node retrieved or called."""

    nodes: list[ExecutedNode]
    text: str
    source_documents: list[dict[str, Any]] | None = None
    used_tools: list[dict[str, Any]] | None = None
    #: a resumed run's executed data from before the stop, which its own entries extend
    prior: list[dict[str, Any]] = field(default_factory=list)
    #: the Proceed/Reject request of the human-input node the run stopped at
    action: dict[str, Any] | None = None
    #: the error of the node the run failed at (the last one)
    failure: str | None = None

    @property
    def stopped(self) -> bool:
        return self.action is not None

    def executed_data(self, upto: int | None = None) -> list[dict[str, Any]]:
        chosen = self.nodes if upto is None else self.nodes[:upto]
        return [*self.prior, *(e for n in chosen for e in n.entries())]


class NodeFailure(Exception):
    """A node could not run: the run stops there with the node and the execution in ERROR."""


@dataclass
class Resume:
    """A stopped execution being continued at its human-input node with the human's decision."""

    executed: list[dict[str, Any]]
    node_id: str
    proceed: bool
    feedback: str | None = None
    #: the request's ``humanInput`` as sent, echoed in the node's input
    human_input: dict[str, Any] = field(default_factory=dict)


def from_editor(text: str) -> str:
    """A value the flow editor saved as HTML (``<p>...</p>``, TipTap's legacy output) as the Markdown text
    Flowise's variable resolver makes of it before use; any other text is left as it is."""
    if not _EDITOR_HTML.match(text):
        return text
    return markdownify(text, escape_asterisks=False, escape_underscores=False, escape_misc=False).strip()


def substitute(template: str, ctx: AgentflowContext, outputs: dict[str, str]) -> str:
    """Resolve ``{{ ... }}`` placeholders the way Flowise's agentflow variable resolver does."""
    template = from_editor(template)

    def resolve(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "question":
            return ctx.question
        if key == "chat_history":
            return "\n".join(f"{t.role}: {t.content}" for t in ctx.history)
        if key.startswith("$vars."):
            value = ctx.variables.get(key[len("$vars."):])
            return match.group(0) if value is None else str(value)
        if key in ("$flow.chatId", "$flow.sessionId", "$flow.chatflowId", "$flow.chatflowid"):
            return {"chatId": ctx.chat_id, "sessionId": ctx.session_id}.get(key[len("$flow."):], ctx.chatflow_id)
        if key.startswith("$flow.state."):
            value = ctx.state.get(key[len("$flow.state."):])
            if value is None:
                return match.group(0)
            return json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else str(value)
        if key == "$iteration" or key.startswith("$iteration."):
            return _iteration_value(ctx, key, match.group(0))
        if key.startswith("$form.") and ctx.form:
            return str(ctx.form.get(key[len("$form."):], ""))
        if key in outputs:
            return outputs[key]
        return match.group(0)

    return _PLACEHOLDER.sub(resolve, template)


def _iteration_value(ctx: AgentflowContext, key: str, unresolved: str) -> str:
    """``{{ $iteration }}`` (the item, objects as JSON) and ``{{ $iteration.<path> }}`` (a key of it)."""
    value = ctx.iteration.get("value") if ctx.iteration else None
    if not value:
        return unresolved
    if key != "$iteration":
        if not isinstance(value, (dict, list)):
            return str(value) if isinstance(value, str) else unresolved
        for part in key[len("$iteration."):].split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return unresolved
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _messages(node: Node, ctx: AgentflowContext, user_text: str, with_memory: bool) -> list[dict[str, str]]:
    configured = node.inputs.get("llmMessages") or node.inputs.get("agentMessages") or []
    messages = [
        {"role": str(m.get("role", "system")), "content": str(m.get("content", ""))}
        for m in configured if isinstance(m, dict)
    ]
    if with_memory:
        messages.extend({"role": t.role, "content": t.content} for t in ctx.history)
    messages.append({"role": "user", "content": user_text})
    return messages


def _run_llm(node: Node, ctx: AgentflowContext, profile: FlowProfile, outputs: dict[str, str]) -> tuple[
        dict[str, Any], dict[str, Any], list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    prefix = "agent" if node.name == "agentAgentflow" else "llm"
    with_memory = node.truthy(f"{prefix}EnableMemory")
    user_template = node.inputs.get(f"{prefix}UserMessage")
    user_text = substitute(user_template, ctx, outputs) if isinstance(user_template, str) and user_template.strip() \
        else ctx.question
    documents = retrieve(ctx.db, profile, user_text) if profile.retrieves else []
    tools = []
    for entry in node.inputs.get("agentTools") or []:
        if isinstance(entry, dict) and entry.get("agentSelectedTool"):
            tools.append(Node(id=str(entry["agentSelectedTool"]), name=str(entry["agentSelectedTool"]),
                              label=str(entry["agentSelectedTool"]), category="Tools",
                              inputs=dict(entry.get("agentSelectedToolConfig") or {})))
    used_tools = run_tools(tools, user_text, ctx.db) if tools else []
    started = time.time()
    answer = compose(
        Prompt(question=user_text, history=tuple(ctx.history) if with_memory else (),
               documents=tuple(documents), used_tools=tuple(used_tools),
               variables=tuple(sorted((k, str(v)) for k, v in ctx.variables.items())),
               attachments=ctx.attachments, seed=ctx.seed),
        answer_tokens=ctx.answer_tokens,
    )
    messages = _messages(node, ctx, user_text, with_memory)
    input_tokens = sum(len(tokenize(m["content"])) for m in messages)
    output_tokens = len(answer.tokens)
    ended = time.time()
    config = node.inputs.get(f"{prefix}ModelConfig")
    model_name = str(config.get("modelName") or "mock-llm") if isinstance(config, dict) else "mock-llm"
    output: dict[str, Any] = {
        "content": answer.text,
        "timeMetadata": {"start": int(started * 1000), "end": int(ended * 1000),
                         "delta": int((ended - started) * 1000)},
        "calledTools": [],
        **_llm_metadata(input_tokens, output_tokens, model_name),
    }
    if documents and profile.return_source_documents:
        output["sourceDocuments"] = documents
    if used_tools:
        output["usedTools"] = used_tools
    # The node's own inputs are echoed beside the messages, as Flowise's executed data shows them.
    inputs = {key: value for key, value in node.inputs.items()
              if key.startswith(prefix) and key not in (f"{prefix}Messages", f"{prefix}UserMessage")
              and value not in ("", None)}
    if isinstance(inputs.get(f"{prefix}ModelConfig"), dict):  # the credential's id is not shown
        inputs[f"{prefix}ModelConfig"] = {k: v for k, v in inputs[f"{prefix}ModelConfig"].items()
                                          if k != "FLOWISE_CREDENTIAL_ID"}
    return ({"messages": messages, **inputs}, output,
            documents if profile.return_source_documents and documents else None, used_tools or None)


def _chat_history(node: Node, messages: list[dict[str, str]], answer: str) -> list[dict[str, str]]:
    """The node's ``chatHistory`` as Flowise records it: the conversation without system prompts, then the
    answer under the node's name, as a user message when the node returns its response that way."""
    prefix = "agent" if node.name == "agentAgentflow" else "llm"
    role = "user" if node.inputs.get(f"{prefix}ReturnResponseAs", "userMessage") == "userMessage" else "assistant"
    name = (node.label or node.name).strip().lower().replace(" ", "_")
    return [*(m for m in messages if m.get("role") != "system"), {"role": role, "content": answer, "name": name}]


def _list_input(value: Any) -> list[dict[str, Any]]:
    """A node's array input (conditions, state updates): a list, or its JSON text; objects only."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _feedback_enabled(node: Node) -> bool:
    """A Human Input node asks for feedback unless ``humanInputEnableFeedback`` is off (on by default)."""
    return node.inputs.get("humanInputEnableFeedback") not in (False, "false")


def _decide(run: ExecutedNode, ctx: AgentflowContext, outputs: dict[str, str]) -> int:
    """A Condition node: the first condition that holds is fulfilled, else the Else; returns the index of the
    output to follow (the Else is the one after the last condition). Values are resolved first."""
    conditions = [dict(c) for c in _list_input(run.node.inputs.get("conditions"))]
    for condition in conditions:
        for key in ("value1", "value2"):
            if isinstance(condition.get(key), str):
                condition[key] = substitute(condition[key], ctx, outputs)
    chosen, decided = first_fulfilled(conditions)
    # Flowise spreads the condition list into an object for the node's input: {"0": ..., "1": ...}
    run.input = {"conditions": {str(i): c for i, c in enumerate(conditions)}}
    run.output = {"conditions": decided}
    return chosen


#: The worked example Flowise's Condition Agent shows its model before the real question (its few-shot
#: prefix); the mock's model counts these tokens like any other, so the node reports the same usage.
_AGENT_EXAMPLE = ('{"input": "Hello", "scenarios": ["user is asking about AI", "user is not asking about AI"], '
                  '"instruction": "Your task is to check if the user is asking about AI."}',
                  '```json\n{"output": "user is not asking about AI"}\n```')


def _ask_condition_agent(run: ExecutedNode, ctx: AgentflowContext, outputs: dict[str, str]) -> int:
    """A Condition Agent: the fake model picks the scenario the input is about (scenarios.py); that
    output's edges are followed. Returns the index of the chosen output."""
    inputs = run.node.inputs
    scenarios = [str(s.get("scenario") or "") for s in _list_input(inputs.get("conditionAgentScenarios"))]
    if not inputs.get("conditionAgentModel"):
        raise NodeFailure("Error in Condition Agent node: Model is required")
    if not scenarios:
        raise NodeFailure("Error in Condition Agent node: Scenarios are required")
    given = inputs.get("conditionAgentInput")
    text = substitute(given, ctx, outputs) if isinstance(given, str) and given else ctx.question
    instruction = inputs.get("conditionAgentInstructions")
    instruction = "undefined" if instruction is None else substitute(str(instruction), ctx, outputs)
    started = time.time()
    chosen = best_scenario(text, scenarios)
    answer = scenario_answer(scenarios[chosen])
    asked = f'{{"input": {text}, "scenarios": {json.dumps(scenarios, separators=(",", ":"))}, "instruction": {instruction}}}'
    sent = sum(len(tokenize(m)) for m in (*_AGENT_EXAMPLE, asked))
    said = len(tokenize(answer))
    ended = time.time()
    listing = "\n".join(f"{i + 1}. {scenario}" for i, scenario in enumerate(scenarios))
    run.input = {"messages": [{"role": "user",
                               "content": f"### Input\n{text}\n\n### Scenarios\n{listing}\n\n### Instruction\n{instruction}"}]}
    config = inputs.get("conditionAgentModelConfig")
    model_name = str(config.get("modelName") or "mock-llm") if isinstance(config, dict) else "mock-llm"
    run.output = {
        "conditions": [{"output": scenario, "isFulfilled": index == chosen} for index, scenario in enumerate(scenarios)],
        "content": answer,
        "timeMetadata": {"start": int(started * 1000), "end": int(ended * 1000), "delta": int((ended - started) * 1000)},
        **_llm_metadata(sent, said, model_name, streamed=False),
    }
    run.extra = {"chatHistory": [{"role": "user", "content": ctx.question}]}
    return chosen


def _llm_metadata(sent: int, said: int, model_name: str, *, streamed: bool = True) -> dict[str, Any]:
    """``usageMetadata`` and ``responseMetadata`` of a call to the fake model, as Flowise reports them: the
    provider's usage with token details and costs (zero: the mock's model has no price), and LangChain's
    metadata, whose keys come in another order, with its own token estimate, for a call not streamed."""
    usage = {"input_tokens": sent, "output_tokens": said, "total_tokens": sent + said}
    details = {"input_token_details": {}, "output_token_details": {}}
    costs = {"input_cost": 0, "output_cost": 0, "total_cost": 0}
    bases = {"base_input_cost": 0, "base_output_cost": 0}
    provider = {"model_provider": "openai",
                "usage": {"prompt_tokens": sent, "completion_tokens": said, "total_tokens": sent + said}}
    ending = {"finish_reason": "stop", "system_fingerprint": None, "model_name": model_name}
    if streamed:
        return {"usageMetadata": {**usage, **details, **bases, **costs},
                "responseMetadata": {"prompt": 0, "completion": 0, **provider, **ending}}
    estimate = {"promptTokens": sent, "completionTokens": said, "totalTokens": sent + said}
    return {"usageMetadata": {**usage, **details, **costs, **bases},
            "responseMetadata": {"estimatedTokenUsage": estimate, "prompt": 0, "completion": 0, **ending, **provider}}


def _loop(run: ExecutedNode, loops: dict[str, int], ctx: AgentflowContext, outputs: dict[str, str]) -> str | None:
    """A Loop node: the node to run again (``loopBackToNode`` is ``<id>-<label>``) while this request's jumps
    stay under ``maxLoopCount`` (default 5); after that its content is the fallback message, streamed."""
    node = run.node
    target = str(node.inputs.get("loopBackToNode") or "")
    target_id, _, rest = target.partition("-")
    label = rest.split("-")[0]
    given = node.inputs.get("maxLoopCount")
    limit = int(parse_float(given)) if given and has_number(given) else _DEFAULT_MAX_LOOPS  # parseInt
    fallback = node.inputs.get("fallbackMessage")
    run.input = {"nodeID": target_id, "maxLoopCount": limit}
    run.output = {"content": f"Loop back to {label} ({target_id})", "nodeID": target_id, "maxLoopCount": limit,
                  **({"fallbackMessage": fallback} if fallback is not None else {})}
    _update_state(ctx, outputs, node.inputs.get("loopUpdateState"), run.output["content"])
    count = loops.get(node.id, 0) + 1
    if count < limit:
        loops[node.id] = count
        return target_id
    message = fallback or f"Loop completed after reaching maximum iteration count of {limit}."
    run.output["content"] = message
    run.after = [("token", message)]
    return None


def _start(run: ExecutedNode, ctx: AgentflowContext, outputs: dict[str, str]) -> None:
    """The Start node: passes the question (or form) on, seeds the flow state (``startState``, then with
    ``startPersistState`` the state the session's last run ended with) and, with ``startEphemeralMemory``,
    leaves the stored conversation out of this run. The two flags show in its output, as in Flowise."""
    inputs = run.node.inputs
    run.input = {"form": ctx.form} if ctx.form else {"question": ctx.question} if ctx.question_given else {}
    run.output = dict(run.input)
    ctx.state = {}
    _update_state(ctx, outputs, inputs.get("startState"), "")
    if inputs.get("startPersistState") is True:
        ctx.state.update(ctx.persisted_state)
    if inputs.get("startEphemeralMemory"):
        run.output["ephemeralMemory"] = True
        ctx.history = ctx.history[:len(ctx.history) - ctx.stored_turns]
        ctx.stored_turns = 0
    if inputs.get("startPersistState"):
        run.output["persistState"] = True


def _execute_flow(run: ExecutedNode, ctx: AgentflowContext, outputs: dict[str, str], *, runtime_history: bool) -> None:
    """An Execute Flow node: ``executeFlowInput`` (resolved) is sent as a prediction of the chatflow
    ``executeFlowSelectedFlow``, with this run's ``chatId``; the answer's ``text`` (else its ``json`` in a
    code fence, else the whole answer as JSON) is the node's content, said as ``executeFlowReturnResponseAs``
    (a user message unless ``assistantMessage``). A flow calling itself fails the node; a prediction that
    fails answers its error body, which becomes the content like any other answer."""
    inputs = run.node.inputs
    given = inputs.get("executeFlowInput")
    question = substitute(given, ctx, outputs) if isinstance(given, str) else given
    run.input = {"messages": [{"role": "user", "content": question}]}
    selected = str(inputs.get("executeFlowSelectedFlow") or "")
    if selected == ctx.chatflow_id:
        raise NodeFailure("Error: Cannot call the same agentflow!")
    if ctx.execute_flow is None:
        raise NodeFailure("Error: Execute Flow is not available here")
    override = inputs.get("executeFlowOverrideConfig")
    if isinstance(override, str) and override.startswith("{") and override.endswith("}"):
        try:
            override = json.loads(substitute(override, ctx, outputs))
        except ValueError as exc:
            raise NodeFailure(f"Invalid JSON in executeFlowOverrideConfig: {exc}") from None
    answer = ctx.execute_flow(selected, question, override or None)
    if answer.get("text"):
        text = str(answer["text"])
    elif answer.get("json"):
        text = "```json\n" + json.dumps(answer["json"], indent=2, ensure_ascii=False)
    else:
        text = json.dumps(answer, indent=2, ensure_ascii=False)
    run.output = {"content": text}
    for key in ("sourceDocuments", "usedTools"):
        if isinstance(answer.get(key), list) and answer[key]:
            run.output[key] = answer[key]
    _update_state(ctx, outputs, inputs.get("executeFlowUpdateState"), text)
    label = run.node.label.lower().replace(" ", "_").strip() if run.node.label else run.node.id
    said = {"role": "assistant" if inputs.get("executeFlowReturnResponseAs") == "assistantMessage" else "user",
            "content": text, "name": label}
    run.extra = {"chatHistory": [*([] if runtime_history else [{"role": "user", "content": question}]), said]}


def _iteration_items(given: Any) -> list[Any]:
    """An Iteration node's ``iterationInput``: a JSON array as text (unescaped once more if need be), or a list."""
    if isinstance(given, str) and given:
        try:
            given = json.loads(given)
        except ValueError:
            try:
                given = json.loads(re.sub(r"""\\(["'\[\]{}])""", r"\1", given))
            except ValueError as exc:
                raise NodeFailure(str(exc)) from None
    if not isinstance(given, list):
        raise NodeFailure("Invalid input array")
    return given


def _iterate(run: ExecutedNode, ctx: AgentflowContext, profile: FlowProfile, outputs: dict[str, str]) -> None:
    """An Iteration node: the nodes inside it run once per item of ``iterationInput`` (``{{ $iteration }}`` is
    the item), each run starting from the flow state the previous one left; the answers of the runs,
    one per line, are its content. A run that fails answers ``Error in iteration <n>: ...`` instead."""
    if ctx.nesting >= _MAX_NESTING:  # a block inside itself, or blocks inside each other
        raise NodeFailure(f"Iteration nodes nested more than {_MAX_NESTING} deep")
    given = run.node.inputs.get("iterationInput")
    items = _iteration_items(substitute(given, ctx, outputs) if isinstance(given, str) else given)
    run.input = {"iterationInput": items}
    block = profile.block(run.node.id)
    if not block.nodes:
        return
    answers: list[str] = []
    for index, item in enumerate(items):
        context = {"index": index, "value": item, "isFirst": index == 0, "isLast": index == len(items) - 1,
                   "sessionId": ctx.session_id}
        inner = replace(ctx, state=dict(ctx.state), iteration=context, nesting=ctx.nesting + 1)
        result = run_agentflow(block, inner, nested=True)
        if result.failure is not None:
            for child in result.nodes:
                child.recorded = False
            run.children.extend(result.nodes)
            answers.append(f"Error in iteration {index + 1}: {result.failure}")
            continue
        for child in result.nodes:
            child.extra = {**child.extra, "iterationIndex": index, "iterationContext": context,
                           "parentNodeId": run.node.id}
        run.children.extend(result.nodes)
        last = result.nodes[-1].output.get("content", " ") if result.nodes else " "
        if last:
            answers.append(last if isinstance(last, str) else _streamed(last))
        if inner.state:
            ctx.state = {**ctx.state, **inner.state}
    run.output = {"iterationResults": answers, "content": "\n".join(answers)}


def _streamed(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def _custom_function(run: ExecutedNode, ctx: AgentflowContext, outputs: dict[str, str]) -> None:
    """A Custom Function node: its JavaScript runs (javascript.py) with ``$input`` (the question), ``$vars``,
    ``$flow`` and one ``$<name>`` per input variable; a returned object becomes JSON text (two-space
    indented), anything else is the content as it is. Code that throws fails the node with Flowise's
    ``NodeVM Execution Error`` message."""
    inputs = run.node.inputs
    code = str(inputs.get("customFunctionJavascriptFunction") or "")
    variables = [dict(v) for v in _list_input(inputs.get("customFunctionInputVariables"))]
    for variable in variables:
        if isinstance(variable.get("variableValue"), str):
            variable["variableValue"] = substitute(variable["variableValue"], ctx, outputs)
    run.input = {"inputVariables": variables, "code": code}
    given = ctx.question or ("\n".join(f"{k}: {v}" for k, v in ctx.form.items()) if ctx.form else "")
    flow = {"input": given, "state": ctx.state, "chatflowId": ctx.chatflow_id, "sessionId": ctx.session_id,
            "chatId": ctx.chat_id, "rawOutput": "", "chatHistory": []}
    sandbox = {"$input": given, "$vars": ctx.variables, "$flow": flow,
               **{f"${v['variableName']}": v.get("variableValue") for v in variables if v.get("variableName")}}
    try:
        kind, value = run_function(code, sandbox)
    except JavaScriptError as exc:
        raise NodeFailure(f"Error: NodeVM Execution Error: {exc}") from None
    content = json.dumps(value, indent=2, ensure_ascii=False) if kind == "object" else value
    run.output = {} if kind == "undefined" else {"content": content}
    _update_state(ctx, outputs, inputs.get("customFunctionUpdateState"), _streamed(content) if content is not None else "")


def _update_state(ctx: AgentflowContext, outputs: dict[str, str], updates: Any, output: str) -> None:
    """A node's ``...UpdateState`` list (``[{key, value}]``): values resolved like any input, then
    ``{{ output }}`` replaced by what the node answered, merged into the flow state."""
    for update in _list_input(updates):
        if update.get("key"):
            value = update.get("value")
            if isinstance(value, str):
                value = substitute(value, ctx, outputs)
                if "{{ output }}" in value or "{{output}}" in value:
                    value = output
            ctx.state[str(update["key"])] = value


def _conversation(ctx: AgentflowContext, prior: list[dict[str, Any]], executed: list[ExecutedNode], *,
                  stored: bool = True) -> list[dict[str, str]]:
    """The messages a human-input node sees: the session's stored turns (unless ``stored`` is off), then the
    run's own chat history (Flowise's ``agentflowRuntime.chatHistory``)."""
    # Flowise's key order for stored turns
    messages = [{"content": t.content, "role": t.role} for t in ctx.history] if stored else []
    for entry in prior:
        messages.extend(entry.get("data", {}).get("chatHistory") or [])
    for run in executed:
        messages.extend(run.extra.get("chatHistory") or [])
    return messages


def _ask_human(run: ExecutedNode, ctx: AgentflowContext, outputs: dict[str, str], messages: list[dict[str, str]]) -> dict[str, Any]:
    """A first visit: the node asks its question after the last message and the run stops with an action."""
    node = run.node
    last = (messages[-1].get("content") or "") if messages else ""
    if node.inputs.get("humanInputDescriptionType") == "dynamic":  # the node's model writes the question
        content = compose(Prompt(question=last or ctx.question, seed=ctx.seed), answer_tokens=ctx.answer_tokens).text
        run.tokens = tokenize(content)
    else:  # the last message, then the fixed question, even when there is no message before it
        described = node.inputs.get("humanInputDescription")
        question = substitute(described, ctx, outputs) if isinstance(described, str) else ""
        content = f"{last}\n\n{question or _DEFAULT_HUMAN_QUESTION}"
        run.single_token = True
        run.tokens = [content]
    run.input = {"messages": messages, "humanInputEnableFeedback": _feedback_enabled(node)}
    action = {"id": new_id(), "mapping": {"approve": "Proceed", "reject": "Reject"},
              "elements": [{"type": "agentflowv2-approve-button", "label": "Proceed"},
                           {"type": "agentflowv2-reject-button", "label": "Reject"}],
              "data": {"nodeId": node.id, "nodeLabel": node.label, "input": run.input}}
    run.output = {"content": content, "humanInputAction": action}
    run.extra = {"chatHistory": [{"role": "assistant", "content": content}]}
    run.status = "STOPPED"
    return action


def _answer_human(run: ExecutedNode, resume: Resume, messages: list[dict[str, str]]) -> None:
    """The resumed visit: the decision becomes the node's fulfilled condition and its content (the feedback,
    else ``proceed``/``reject``); it streams nothing."""
    node = run.node
    with_feedback = _feedback_enabled(node) and resume.feedback
    said = resume.feedback or ("proceed" if resume.proceed else "reject")
    run.input = {**resume.human_input, "messages": [*messages, {"role": "user", "content": said}]}
    run.output = {"content": said, "conditions": [
        {"type": kind, "startNodeId": node.id, **({"feedback": resume.feedback} if with_feedback else {}),
         "isFulfilled": resume.proceed == (kind == "proceed")}
        for kind in ("proceed", "reject")
    ]}
    if resume.feedback:
        run.extra = {"chatHistory": [{"role": "user", "content": resume.feedback}]}


def run_agentflow(profile: FlowProfile, ctx: AgentflowContext, resume: Resume | None = None, *,
                  nested: bool = False) -> AgentflowResult:
    """Execute the flow's nodes breadth-first from the Start node (see the module docstring); a branching
    node (Condition, Human Input) sends the run down the edges of its fulfilled output only. ``resume``
    continues a stopped run at its human-input node. ``nested`` runs the nodes inside an Iteration node
    for one item: they start where nothing leads to them, and none of them streams."""
    outputs: dict[str, str] = {}
    prior: list[dict[str, Any]] = []
    if resume is None:
        targets = {t for _, t in profile.edges}
        queue = [n.id for n in profile.nodes if n.id not in targets and (nested or not n.inside_parent)]
    else:
        prior = resume.executed
        if prior:  # the run goes on with the state its last node left
            last_state = prior[-1].get("data", {}).get("state")
            ctx.state = dict(last_state) if isinstance(last_state, dict) else {}
        for entry in prior:
            content = entry.get("data", {}).get("output", {}).get("content")
            outputs[str(entry.get("nodeId"))] = content if isinstance(content, str) else ""
        queue = [resume.node_id]
    executed: list[ExecutedNode] = []
    found: dict[str, tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]] = {}
    joins = Joins(profile)
    loops: dict[str, int] = {}  # jumps made by each Loop node in this request
    pending = resume  # the human's answer, consumed by the first visit of its node
    while queue:
        node_id = queue.pop(0)
        node = profile.node(node_id)
        if node is None:
            continue
        ran_before = [p for p in profile.predecessors(node.id) if p in outputs]
        before = outputs[ran_before[-1]] if ran_before else ctx.question
        run = ExecutedNode(node=node, previous=profile.predecessors(node.id), input={}, output={})
        looped_to: str | None = None
        branch: str | None = None  # the output anchor the run continues from; None: all of them
        try:
            if node.name == HUMAN_INPUT:
                messages = _conversation(ctx, prior, executed)
                if pending is None or node.id != pending.node_id:
                    executed.append(run)
                    run.state = dict(ctx.state)
                    action = _ask_human(run, ctx, outputs, messages)
                    return AgentflowResult(nodes=executed, text=run.content, prior=prior, action=action)
                _answer_human(run, pending, messages)
                branch = f"{node.id}-output-{0 if pending.proceed else 1}"
                pending = None
            elif node.name == LOOP:
                looped_to = _loop(run, loops, ctx, outputs)
            elif node.name == "startAgentflow":
                _start(run, ctx, outputs)
            elif node.name == CONDITION:
                branch = f"{node.id}-output-{_decide(run, ctx, outputs)}"
            elif node.name == CONDITION_AGENT:
                branch = f"{node.id}-output-{_ask_condition_agent(run, ctx, outputs)}"
            elif node.name == "directReplyAgentflow":
                message = node.inputs.get("directReplyMessage")
                text = substitute(message, ctx, outputs) if isinstance(message, str) else ""
                run.output = {"content": text}
                run.single_token = True
                run.tokens = [text] if text else []
            elif node.name in _LLM_NODES:
                run.input, run.output, node_sources, node_tools = _run_llm(node, ctx, profile, outputs)
                found[node.id] = (node_sources, node_tools)
                run.tokens = tokenize(run.content)
                run.extra = {"chatHistory": _chat_history(node, run.input["messages"], run.content)}
                usage = {k: run.output["usageMetadata"][k] for k in ("input_tokens", "output_tokens", "total_tokens")}
                run.trailing = [("token", ""), ("token", ""), ("calledTools", []),
                                ("usageMetadata", {**usage, "input_token_details": {}, "output_token_details": {}})]
                _update_state(ctx, outputs, node.inputs.get("llmUpdateState" if node.name == "llmAgentflow"
                                                             else "agentUpdateState"), run.content)
            elif node.name in (EXECUTE_FLOW, CUSTOM_FUNCTION, ITERATION):
                if node.name == EXECUTE_FLOW:
                    _execute_flow(run, ctx, outputs, runtime_history=bool(_conversation(ctx, prior, executed, stored=False)))
                elif node.name == CUSTOM_FUNCTION:
                    _custom_function(run, ctx, outputs)
                else:
                    _iterate(run, ctx, profile, outputs)
                content = run.output.get("content")
                if node.name != ITERATION:  # these stream their whole answer as one token, when it is not empty
                    run.single_token = True
                    run.tokens = [_streamed(content)] if content else []
            elif node.name == "retrieverAgentflow":
                documents = retrieve(ctx.db, profile, ctx.question)
                run.input = {"question": ctx.question}
                run.output = {"content": "\n\n".join(d["pageContent"] for d in documents)}
                run.tokens = tokenize(run.content)
            else:
                run.output = {"content": before}
                run.tokens = tokenize(before)
        except NodeFailure as exc:  # the run ends at the node that failed
            run.status, run.error = "ERROR", str(exc)
            executed.append(run)
            return AgentflowResult(nodes=executed, text=" ", prior=prior, failure=run.error)
        run.state = dict(ctx.state)
        outputs[node.id] = ctx.question if node.name == "startAgentflow" else run.content
        following = joins.delivered(node.id, branch)
        if looped_to is not None:  # go round again: the target and what follows it run anew
            following.append(looped_to)
        if nested or profile.successors(node.id):  # only a node with nowhere to go streams (Flowise's isLastNode)
            run.tokens, run.trailing = [], []
        executed.append(run)
        queue.extend(following)
    last = executed[-1] if executed else None
    text = last.content if last is not None and last.content else " "
    sources, tools = found.get(last.node.id, (None, None)) if last is not None else (None, None)
    return AgentflowResult(nodes=executed, text=text, source_documents=sources, used_tools=tools, prior=prior)
