"""``POST /prediction/{id}``: run a chatflow or agentflow on the fake LLM, as JSON or as Flowise's SSE stream.

Order of checks, as in Flowise's controller (docs/prediction.md#order-of-checks): the chatflow lookup
(400 for a non-UUID id, 404 for an unknown one), then the request itself (faults.py headers, then inputs.py: every
malformed part is a 4xx before anything is stored or streamed), then the chatflow-bound key, then the
run. By contract a bad key is 401 before any stream opens; under ``--quirks`` it is the real server's
500, which on a stream arrives as an ``error`` event then ``end`` (deviation ``flow-key-500``).

What the flowData holds decides the behaviour (llm/flow.py): memory, retrieval, tools, follow-ups, and
``type: AGENTFLOW`` for the agentflow answer and event sequence (llm/agentflow.py). JSON answers keep
Flowise's key order: ``text``, [``sourceDocuments``, ``usedTools``], ``question``, ``chatId``,
``chatMessageId``, [``followUpPrompts``], ``isStreamValid``, ``sessionId``, [``memoryType``]; agentflows:
``text``, ``question``, ``chatId``, ``chatMessageId``, [``followUpPrompts``], ``executionId``,
``agentFlowExecutedData``, ``sessionId``. ``followUpPrompts`` is double-encoded in JSON and single-encoded
in the stream's ``metadata``, exactly as Flowise sends it.

Abort (``PUT /chatmessage/abort/...``): Flowise 3.1 passes the abort signal only to agentflows; there the
running node ends TERMINATED and the stream carries ``nextAgentFlow``/``agentFlowExecutedData``/
``agentFlowEvent`` TERMINATED, an ``error`` ("Flow execution was cancelled") and ``end``, with no chat
message stored. A v1 chatflow in Flowise keeps generating; the mock stops it instead (what a client that
pressed "stop" expects), stores the partial answer and closes with ``metadata`` and ``end``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

from mockserver import quirks, versions
from mockserver.auth import check_chatflow_key
from mockserver.errors import FlowiseError, flowise_body
from mockserver.faults import BUILD_CHATFLOW, RECEIVED_AT, mark_injected, read_faults, scripted_error
from mockserver.llm.agentflow import (
    HUMAN_INPUT,
    AgentflowContext,
    AgentflowResult,
    ExecutedNode,
    FlowRunner,
    NodeFailure,
    Resume,
    run_agentflow,
)
from mockserver.llm.answer import Prompt, compose, follow_up_prompts, tokenize
from mockserver.llm.budget import Budget
from mockserver.llm.exchange import Exchange
from mockserver.llm.flow import FlowProfile, api_override_enabled, follow_ups_enabled, read_profile
from mockserver.llm.inputs import PredictionInput, SubmittedFile, read_prediction
from mockserver.llm.memory import Turn, history_from_request, load_history
from mockserver.llm.retrieval import index_texts, retrieve
from mockserver.llm.script import Rule, ScriptError, script_for
from mockserver.llm.tools import run_tools
from mockserver.operations import Call, operation
from mockserver.resources._flowdata import is_streaming
from mockserver.resources.attachments import store_file
from mockserver.store import records, variables
from mockserver.store.chatmessages import clear_last_action, dump_json
from mockserver.store.db import json_value, new_id
from mockserver.store.executions import latest_execution, save_execution
from mockserver.streaming import (
    EventStreamResponse,
    Finish,
    StreamPlan,
    Tokens,
    flowise_frame,
    paced_frames,
    register_stream,
)
from mockserver.timing import Timing, chunk_tokens, generation_slot

__all__ = ["create_prediction", "load_chatflow", "run_prediction"]

_UUID_CHARS = set("0123456789abcdefABCDEF-")
_END = flowise_frame("end", "[DONE]")
_CANCELLED = "Flow execution was cancelled"


def load_chatflow(call: Call, chatflow_id: Any) -> dict[str, Any]:
    """The chatflow row, or Flowise's 400 ``Invalid Chatflow ID`` / 404 ``... not found in the database!``.

    3.x answers the unknown id with 404 on this route (docs/prediction.md#order-of-checks); 2.2 checks no
    UUID and wraps the miss into a 500 (``missing-id-500`` on 2.2, under ``--quirks flowise-2.2``).
    """
    text = str(chatflow_id or "")
    parts = text.split("-")
    wrapped = quirks.active(call, "missing-id-500")
    if not wrapped and (len(text) != 36 or not set(text) <= _UUID_CHARS or [len(p) for p in parts] != [8, 4, 4, 4, 12]):
        raise FlowiseError(400, "Invalid Chatflow ID")
    row = call.chatflow if call.chatflow is not None and call.chatflow.get("id") == text \
        else records.get(call.db, "chat_flow", text)
    if row is None:
        message = f"Chatflow {text} not found in the database!"
        raise FlowiseError(500, f"Error: chatflowsService.getChatflowById - {message}") if wrapped \
            else FlowiseError(404, message)
    return row


def _error_frames(message: str) -> list[bytes]:
    return [flowise_frame("error", message), _END]


def _error_stream(message: str) -> EventStreamResponse:
    async def frames() -> AsyncIterator[bytes]:
        for frame in _error_frames(message):
            yield frame

    return EventStreamResponse(frames())


def _metadata(result: dict[str, Any]) -> bytes:
    """The ``metadata`` event: Flowise copies only truthy keys and JSON-parses ``followUpPrompts`` once."""
    data: dict[str, Any] = {}
    for key in ("chatId", "chatMessageId", "question", "sessionId", "memoryType", "followUpPrompts", "action"):
        value = result.get(key)
        if value:
            data[key] = json.loads(value) if key == "followUpPrompts" else value
    return flowise_frame("metadata", data)


def _seed(*parts: Any) -> int:
    digest = hashlib.blake2b(json.dumps(parts, default=str).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _variables(call: Call, names: list[str], overrides: dict[str, Any]) -> dict[str, Any]:
    """``$vars``: the stored variables the flow references, then the request's ``overrideConfig.vars``."""
    found = variables.values_of(call.db, call.workspace_id, names)
    found.update(overrides)
    return found


class ChatflowRun:
    """A v1 chatflow's answer, computed up front, stored when it has been delivered."""

    def __init__(self, call: Call, chatflow: dict[str, Any], inp: PredictionInput, chat_id: str,
                 rule: Rule | None, chat_type: str) -> None:
        self.call = call
        db = call.db
        profile = read_profile(chatflow, inp.overrides if api_override_enabled(chatflow) else None)
        self.session_id = inp.override_session_id or inp.chat_id or profile.memory_session_input or chat_id
        self.question = inp.question
        self.memory_type = profile.memory_label
        asked = inp.question if inp.question is not None else ("" if inp.has_input else "undefined")
        history: list[Turn] = []
        if profile.has_memory:
            history = history_from_request(inp.history) + load_history(
                db, chatflow_id=chatflow["id"], session_id=self.session_id)
        text_files = [(f.text, {"source": f.name}) for f in inp.files if f.text]
        if profile.retrieves and text_files:
            index_texts(db, chatflow["id"], text_files, chunk_size=profile.chunk_size,
                        chunk_overlap=profile.chunk_overlap)
        documents = rule.source_documents if rule and rule.source_documents is not None \
            else retrieve(db, profile, asked)
        tools = rule.used_tools if rule and rule.used_tools is not None else run_tools(profile.tools, asked, db)
        if rule is not None and rule.answer is not None:
            self.text = rule.render(asked) or ""
            self.tokens = tokenize(self.text)
        else:
            variables = _variables(call, profile.var_names, inp.variables)
            answer = compose(
                Prompt(question=inp.inlined_question(asked), history=tuple(history), documents=tuple(documents),
                       used_tools=tuple(tools), variables=tuple(sorted((k, str(v)) for k, v in variables.items())),
                       attachments=tuple(inp.attachments()), seed=call.settings.llm_seed),
                answer_tokens=call.settings.answer_tokens,
            )
            self.text, self.tokens = answer.text, answer.tokens
        returned = profile.return_source_documents or (rule is not None and rule.source_documents is not None)
        self.sources = list(documents) if returned else None
        self.tools = list(tools) or None
        self.follow_ups = follow_up_prompts(asked, self.text) if follow_ups_enabled(chatflow) else None
        self.exchange = Exchange(
            chatflow_id=chatflow["id"], chat_id=chat_id, session_id=self.session_id, chat_type=chat_type,
            memory_type=profile.memory_label or "", question=inp.question or "",
            file_uploads=[u.stored() for u in inp.uploads] if inp.uploads else None, lead_email=inp.lead_email)

    def _save(self, text: str) -> dict[str, Any]:
        message_id = self.exchange.save(text, source_documents=self.sources, used_tools=self.tools,
                                        follow_ups=self.follow_ups, db=self.call.db)
        result: dict[str, Any] = {"text": text}
        if self.sources is not None:
            result["sourceDocuments"] = self.sources
        if self.tools:
            result["usedTools"] = self.tools
        if self.question is not None:
            result["question"] = self.question
        result["chatId"] = self.exchange.chat_id
        result["chatMessageId"] = message_id
        if self.follow_ups:
            result["followUpPrompts"] = json.dumps(dump_json(self.follow_ups), ensure_ascii=False)
        result["isStreamValid"] = False
        result["sessionId"] = self.session_id
        if self.memory_type:
            result["memoryType"] = self.memory_type
        return result

    def json(self) -> dict[str, Any]:
        return self._save(self.text)

    def chunk_count(self, timing: Timing) -> int:
        return len(chunk_tokens(self.tokens, timing.tokens_per_chunk))

    def plan(self, timing: Timing) -> StreamPlan:
        def finish() -> list[bytes]:
            result = self._save(self.text)
            frames = []
            if self.sources is not None:
                frames.append(flowise_frame("sourceDocuments", self.sources))
            if self.tools:
                frames.append(flowise_frame("usedTools", self.tools))
            return [*frames, _metadata(result), _END]

        def aborted(partial: str) -> list[bytes]:
            self.sources, self.tools = None, None
            return [_metadata(self._save(partial)), _END]

        chunks = chunk_tokens(self.tokens, timing.tokens_per_chunk)
        steps: list[Any] = []
        if chunks:
            steps.append(Tokens(chunks, lambda _i, chunk: flowise_frame("token", chunk),
                                first=[flowise_frame("start", "")]))
        steps.append(Finish(finish))
        return StreamPlan(steps=steps, on_error=_error_frames, on_abort=aborted)


class AgentflowRun:
    """An AgentflowV2 run: executed nodes, the answer of the last one, an execution row. ``budget`` is the
    prediction's (a flow an Execute Flow node calls spends its caller's); ``streamed`` says the answer is a
    stream, which resends the executed data after each node."""

    def __init__(self, call: Call, chatflow: dict[str, Any], inp: PredictionInput, chat_id: str,
                 rule: Rule | None, chat_type: str, *, budget: Budget | None = None, streamed: bool = False) -> None:
        self.call = call
        budget = budget if budget is not None else _budget(call)
        profile = read_profile(chatflow, inp.overrides if api_override_enabled(chatflow) else None)
        self.chatflow = chatflow
        self.session_id = inp.override_session_id or chat_id
        self.question = inp.question
        self.form = inp.form
        asked = inp.question or ""
        if inp.form and not asked:
            asked = "\n".join(f"{k}: {v}" for k, v in inp.form.items())
        stored = load_history(call.db, chatflow_id=chatflow["id"], session_id=self.session_id)
        history = history_from_request(inp.history) + stored
        self.execution_id = new_id()
        resume = None
        persisted: dict[str, Any] = {}
        if inp.human_input is not None:
            self.execution_id, resume = _stopped_execution(call, chatflow, profile, self.session_id, inp.human_input)
        else:
            persisted = _persisted_state(call, chatflow, profile, self.session_id)
        ctx = AgentflowContext(
            db=call.db, question=inp.inlined_question(inp.question or ""), chat_id=chat_id,
            session_id=self.session_id, history=history,
            variables=_variables(call, profile.var_names, inp.variables), attachments=tuple(inp.attachments()),
            form=inp.form, seed=call.settings.llm_seed, answer_tokens=call.settings.answer_tokens,
            question_given=inp.question is not None, chatflow_id=chatflow["id"], persisted_state=persisted,
            stored_turns=len(stored), execute_flow=_flow_caller(call, chat_id, budget), budget=budget)
        self.resumed = resume is not None
        self.result = run_agentflow(profile, ctx, resume, streamed=streamed)
        if rule is not None and rule.answer is not None and self.result.nodes:
            last = self.result.nodes[-1]
            self.result.text = rule.render(asked) or " "
            last.output["content"] = self.result.text
            last.tokens = [self.result.text] if last.single_token else tokenize(self.result.text)
        if rule is not None:
            self.result.source_documents = rule.source_documents or self.result.source_documents
            self.result.used_tools = rule.used_tools or self.result.used_tools
        self.follow_ups = follow_up_prompts(asked, self.result.text) if follow_ups_enabled(chatflow) else None
        said = asked or (resume.feedback if resume is not None else None) or " "
        self.exchange = Exchange(
            chatflow_id=chatflow["id"], chat_id=chat_id, session_id=self.session_id, chat_type=chat_type,
            question=said, file_uploads=[u.stored() for u in inp.uploads] if inp.uploads else None,
            lead_email=inp.lead_email, execution_id=self.execution_id)

    def _save_execution(self, executed: list[dict[str, Any]], state: str) -> None:
        save_execution(self.call.db, execution_id=self.execution_id, agentflow_id=self.chatflow["id"],
                       session_id=self.session_id, workspace_id=self.call.workspace_id,
                       executed_data=executed, state=state)

    def _failed(self) -> FlowiseError:
        """The run failed at a node: the execution is kept in ERROR and no message is stored, as in Flowise."""
        self._save_execution(self.result.executed_data(), "ERROR")
        return FlowiseError(500, f"Error: {BUILD_CHATFLOW} - {self.result.failure}")

    def _save(self) -> dict[str, Any]:
        if self.result.failure is not None:
            raise self._failed()
        executed = self.result.executed_data()
        with self.call.db.transaction():
            self._save_execution(executed, "STOPPED" if self.result.stopped else "FINISHED")
            if self.resumed:
                clear_last_action(self.call.db, chatflow_id=self.chatflow["id"], chat_id=self.exchange.chat_id,
                                  session_id=self.session_id)
            message_id = self.exchange.save(self.result.text, source_documents=self.result.source_documents,
                                            used_tools=self.result.used_tools, follow_ups=self.follow_ups,
                                            action=self.result.action, db=self.call.db)
        result: dict[str, Any] = {"text": self.result.text}
        if self.question is not None:
            result["question"] = self.question
        if self.form:
            result["form"] = self.form
        result["chatId"] = self.exchange.chat_id
        result["chatMessageId"] = message_id
        if self.follow_ups:
            result["followUpPrompts"] = json.dumps(dump_json(self.follow_ups), ensure_ascii=False)
        result["executionId"] = self.execution_id
        result["agentFlowExecutedData"] = executed
        if self.result.action is not None:
            result["action"] = self.result.action
        result["sessionId"] = self.session_id
        return result

    def json(self) -> dict[str, Any]:
        return self._save()

    def chunk_count(self, timing: Timing) -> int:
        last = self.result.nodes[-1] if self.result.nodes else None
        if last is None or not last.tokens:
            return 0
        return 1 if last.single_token else len(chunk_tokens(last.tokens, timing.tokens_per_chunk))

    def plan(self, timing: Timing) -> StreamPlan:
        nodes = self.result.nodes
        executed_frames = _executed_frames(self.result)
        steps: list[Any] = [flowise_frame("agentFlowEvent", "INPROGRESS")]
        for index, run in enumerate(nodes):
            ident = {"nodeId": run.node.id, "nodeLabel": run.node.label}
            steps.append(flowise_frame("nextAgentFlow", {**ident, "status": "INPROGRESS"}))
            steps.extend(_inner_frames(run.children))
            if run.tokens:
                chunks = ["".join(run.tokens)] if run.single_token else chunk_tokens(run.tokens, timing.tokens_per_chunk)
                first = [flowise_frame("token", "")] if run.trailing else []
                steps.append(Tokens(chunks, lambda _i, chunk: flowise_frame("token", chunk), first=first))
            steps.extend(flowise_frame(name, data) for name, data in run.trailing)
            steps.append(_ended(run))
            steps.append(executed_frames[index])
            steps.extend(flowise_frame(name, data) for name, data in run.after)

        def finish() -> list[bytes]:
            if self.result.failure is not None:
                return [flowise_frame("agentFlowEvent", "ERROR"), *_error_frames(self._failed().message)]
            result = self._save()
            if self.result.action is not None:  # the node reports the stop, then the run does, as in Flowise
                stopped = flowise_frame("agentFlowEvent", "STOPPED")
                return [stopped, flowise_frame("action", self.result.action), stopped, _metadata(result), _END]
            return [flowise_frame("agentFlowEvent", "FINISHED"), _metadata(result), _END]

        def aborted(_partial: str) -> list[bytes]:
            last = nodes[-1]
            executed = [*self.result.executed_data(len(nodes) - 1), last.entry("TERMINATED", error=_CANCELLED)]
            self._save_execution(executed, "TERMINATED")
            return [
                flowise_frame("nextAgentFlow", {"nodeId": last.node.id, "nodeLabel": last.node.label,
                                                "status": "TERMINATED"}),
                flowise_frame("agentFlowExecutedData", executed),
                flowise_frame("agentFlowEvent", "TERMINATED"),
                *_error_frames(f"Error: {BUILD_CHATFLOW} - {_CANCELLED}"),
            ]

        steps.append(Finish(finish))
        return StreamPlan(steps=steps, on_error=_error_frames, on_abort=aborted if nodes else None)


#: how deep Execute Flow nodes are nested in the prediction being run (a flow calling a flow calling ...)
_flow_depth: ContextVar[int] = ContextVar("flow_depth", default=0)
_MAX_FLOW_DEPTH = 10


def _budget(call: Call) -> Budget:
    """A prediction's agentflow work budget, from the settings (``--agentflow-max-*``)."""
    settings = call.settings
    return Budget(max_nodes=settings.agentflow_max_nodes, max_iteration_items=settings.agentflow_max_iteration_items,
                  max_loop_turns=settings.agentflow_max_loop_turns,
                  max_answer_bytes=settings.agentflow_max_answer_size)


def _flow_caller(call: Call, chat_id: str, budget: Budget) -> FlowRunner:
    """What an Execute Flow node calls: another chatflow's prediction on this server, with the same
    ``chatId``, answered and stored as if it had come over HTTP (Flowise posts it to its own base URL).
    A prediction that fails answers its error body, which the node takes as its answer, as Flowise's does
    (under an older line's quirks the node fails instead: wire change execute-flow-error-is-the-answer).
    An agentflow called spends the caller's ``budget``."""

    def execute(flow_id: str, question: object, override: Any) -> dict[str, Any]:
        depth = _flow_depth.get()
        if depth >= _MAX_FLOW_DEPTH:
            raise NodeFailure(f"Error: Execute Flow nodes nested more than {_MAX_FLOW_DEPTH} deep")
        token = _flow_depth.set(depth + 1)
        try:
            chatflow = load_chatflow(call, flow_id)
            body: dict[str, Any] = {"question": question, "chatId": chat_id}
            if override is not None:
                body["overrideConfig"] = override
            inp = read_prediction(body, [], size_limit=call.settings.file_size_limit)
            if chatflow.get("type") == "AGENTFLOW":
                return AgentflowRun(call, chatflow, inp, chat_id, None, "EXTERNAL", budget=budget).json()
            return ChatflowRun(call, chatflow, inp, chat_id, None, "EXTERNAL").json()
        except FlowiseError as exc:
            if not versions.has(call.settings, "execute-flow-error-is-the-answer"):  # 3.0, 2.2: axios throws
                raise NodeFailure(f"AxiosError: Request failed with status code {exc.status}") from None
            return flowise_body(exc.status, exc.message)
        finally:
            _flow_depth.reset(token)

    return execute


def _ended(run: ExecutedNode) -> bytes:
    """``nextAgentFlow`` for a node that has run: its status, and its error when it failed."""
    return flowise_frame("nextAgentFlow", {"nodeId": run.node.id, "nodeLabel": run.node.label, "status": run.status,
                                           **({"error": run.error} if run.error is not None else {})})


_EXECUTED_HEAD = b'message:\ndata:{"event":"agentFlowExecutedData","data":['
_EXECUTED_TAIL = b"]}\n\n"


def _executed_frames(result: AgentflowResult) -> list[bytes]:
    """The ``agentFlowExecutedData`` event after each node: the executed data so far, which Flowise resends
    whole every time. Each entry is serialised once and the frames are cut from the growing bytes, so they
    cost what they weigh (the budget bounds that) instead of a serialisation per entry per frame."""
    try:
        data = bytearray(b",".join(_entry_bytes(e) for e in result.prior))
        frames = []
        for node in result.nodes:
            for entry in node.entries():
                data += b"," + _entry_bytes(entry) if data else _entry_bytes(entry)
            frames.append(_EXECUTED_HEAD + bytes(data) + _EXECUTED_TAIL)
        return frames
    except UnicodeEncodeError:  # a lone surrogate: flowise_frame escapes the whole event, as JSON.stringify does
        return [flowise_frame("agentFlowExecutedData", result.executed_data(i + 1)) for i in range(len(result.nodes))]


def _entry_bytes(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _inner_frames(children: list[ExecutedNode]) -> list[bytes]:
    """The events of the nodes an Iteration node ran: each one's progress and what it streams after it (a
    Loop's fallback), but not the executed data, which Flowise sends for the whole run only."""
    frames: list[bytes] = []
    for child in children:
        frames.append(flowise_frame("nextAgentFlow", {"nodeId": child.node.id, "nodeLabel": child.node.label,
                                                      "status": "INPROGRESS"}))
        frames.extend(_inner_frames(child.children))
        frames.append(_ended(child))
        frames.extend(flowise_frame(name, data) for name, data in child.after)
    return frames


def _latest_execution(call: Call, agentflow_id: str, session_id: str) -> dict[str, Any] | None:
    return latest_execution(call.db, agentflow_id=agentflow_id, session_id=session_id, workspace_id=call.workspace_id)


def _persisted_state(call: Call, chatflow: dict[str, Any], profile: FlowProfile, session_id: str) -> dict[str, Any]:
    """With the Start node's ``startPersistState`` on, the flow state the session's latest execution ended with:
    the state of its last executed node that recorded one (Flowise's ``agentflowRuntime.state``)."""
    start = next((n for n in profile.nodes if n.name == "startAgentflow"), None)
    if start is None or start.inputs.get("startPersistState") is not True:
        return {}
    row = _latest_execution(call, chatflow["id"], session_id)
    executed = json_value(row["executionData"], []) if row is not None else []
    for entry in reversed(executed if isinstance(executed, list) else []):
        state = entry.get("data", {}).get("state") if isinstance(entry, dict) else None
        if isinstance(state, dict):
            return state
    return {}


def _stopped_execution(call: Call, chatflow: dict[str, Any], profile: FlowProfile, session_id: str,
                       human_input: dict[str, Any]) -> tuple[str, Resume]:
    """The session's latest execution of this agentflow, which must be stopped at the human-input node
    ``startNodeId`` names (or, without it, at its last stopped node); Flowise looks at the latest one
    only, whatever its state, and retries one whose last node failed right after the stop."""
    row = _latest_execution(call, chatflow["id"], session_id)

    def refused(status: int, message: str) -> FlowiseError:
        return quirks.client_error(call, status, message, where=BUILD_CHATFLOW)

    if row is None:
        raise refused(404, f"No previous execution found for session {session_id}")
    executed = [e for e in json_value(row["executionData"], []) or [] if isinstance(e, dict)]
    if row["state"] == "ERROR":  # a node failed right after the stop: the failure is dropped and the resume retried
        if len(executed) < 2:
            raise refused(409, f"Cannot resume execution {row['id']} because it is in 'ERROR' state with insufficient "
                               "execution data. Only executions in 'STOPPED' state can be resumed.")
        if (executed[-1].get("status"), executed[-2].get("status")) != ("ERROR", "STOPPED"):
            raise refused(409, f"Cannot resume execution {row['id']} because it is in 'ERROR' state and the previous "
                               "item is not in 'STOPPED' state. Only executions that ended with a STOPPED state (or "
                               "ERROR after STOPPED) can be resumed.")
        executed = executed[:-1]
    elif row["state"] != "STOPPED":
        raise refused(409, f"Cannot resume execution {row['id']} because it is in '{row['state']}' state. Only "
                           "executions in 'STOPPED' state (or 'ERROR' after 'STOPPED') can be resumed.")
    node_id = human_input.get("startNodeId")
    if not node_id:  # Flowise resumes at the last node that stopped
        stopped = next((e for e in reversed(executed) if e.get("status") == "STOPPED"), None)
        if stopped is None:
            raise refused(400, "No stopped node found in previous execution data to resume from")
        node_id = stopped.get("nodeId")
    entry = next((e for e in reversed(executed) if e.get("nodeId") == node_id), None)
    if entry is None:
        raise refused(400, f"Node {node_id} not found in previous execution. This could indicate an invalid "
                           "resume attempt or a modified flow.")
    node = profile.node(node_id) if isinstance(node_id, str) else None
    if entry.get("status") != "STOPPED" or node is None or node.name != HUMAN_INPUT:
        raise refused(400, f"Node {node_id} is not waiting for human input in execution {row['id']}")
    feedback = human_input.get("feedback")
    # Flowise drops every earlier visit of the node too (a loop may have passed it before the stop).
    resume = Resume(executed=[e for e in executed if e.get("nodeId") != node_id], node_id=node.id,
                    proceed=human_input.get("type") == "proceed",
                    feedback=feedback if isinstance(feedback, str) and feedback else None,
                    human_input={**human_input, "startNodeId": node_id})
    return row["id"], resume


async def _read_files(call: Call) -> list[SubmittedFile]:
    files = []
    for upload in call.files:
        files.append(SubmittedFile(upload.filename or "file", upload.content_type or "application/octet-stream",
                                   await upload.read()))
    return files


def _reported_in_stream(call: Call, exc: FlowiseError, streaming: bool) -> bool:
    """Under quirks, a 500 raised while Flowise builds the flow reaches a streaming client as an ``error``
    event in the stream it already opened, not as an HTTP error."""
    return streaming and quirks.active(call, "flow-key-500") and exc.status == 500


def _flow_key_failure(call: Call, chatflow: dict[str, Any], streaming: bool) -> FlowiseError | None:
    """The chatflow-bound key check; a failure to report in the stream is returned, any other is raised."""
    try:
        check_chatflow_key(call, chatflow)
    except FlowiseError as exc:
        if _reported_in_stream(call, exc, streaming):
            return exc
        raise
    return None


def _store_uploads(call: Call, chatflow_id: str, chat_id: str, inp: PredictionInput) -> None:
    """Keep uploaded files where ``get-upload-file`` and attachments look: ``<data_dir>/<chatflow>/<chat>/``."""
    for upload in inp.uploads:
        if upload.content is not None:
            store_file(call.state.data_dir, [chatflow_id, chat_id], upload.name, upload.content)
    for file in inp.files:
        store_file(call.state.data_dir, [chatflow_id, chat_id], file.name, file.content)


async def run_prediction(call: Call, *, chat_type: str = "EXTERNAL") -> dict[str, Any] | EventStreamResponse:
    """The whole prediction (also usable for ``internal-prediction`` with ``chat_type="INTERNAL"``)."""
    loop = asyncio.get_running_loop()
    # Time runs from the request's arrival (stamped by the request log), so queueing in the server counts.
    received = call.request.scope.get("state", {}).get(RECEIVED_AT, loop.time())
    chatflow = load_chatflow(call, call.path.get("id"))
    if chatflow.get("type") == "AGENTFLOW" and quirks.active(call, "agentflows-missing"):  # Flowise 2.2
        raise FlowiseError(500, "Error: chatflowsService.checkIfChatflowIsValidForStreaming - "
                                "Ending node must be either a Chain or Agent or Engine")
    faults = read_faults(call.request.headers)
    inp = read_prediction(call.body, await _read_files(call), size_limit=call.settings.file_size_limit,
                          lenient=quirks.active(call, "no-input-validation"))
    if not inp.has_input and not quirks.active(call, "missing-question-accepted"):
        raise FlowiseError(400, "Invalid request: a prediction needs a question, uploads or a form")
    streaming = inp.streaming and is_streaming(chatflow)
    failure = _flow_key_failure(call, chatflow, streaming)
    chat_id = inp.chat_id or inp.override_session_id or new_id()
    try:
        script = call.state.script = script_for(call.state.script, call.settings.script_file)
    except ScriptError as exc:
        raise FlowiseError(500, f"Error: {BUILD_CHATFLOW} - {exc}") from exc
    rule = script.find(inp.question or "", chatflow["id"]) if script else None
    delay_ms = faults.delay_ms + (rule.delay_ms if rule else 0.0)
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000.0)
        received = loop.time()
    if failure is None:
        failure = faults.error()
        if failure is None and rule is not None and rule.error_status is not None:
            failure = scripted_error(rule.error_status, rule.error_message)
        if failure is not None:
            mark_injected(call.request)  # asked for by the developer: exempt from strict mode
    if failure is not None:
        if streaming:
            return _error_stream(failure.message)
        raise failure
    _store_uploads(call, chatflow["id"], chat_id, inp)
    # An agentflow runs off the event loop (a big or slow one holds up no other request), and so do its
    # answer and stream plan, which serialise its executed data; the database serialises the threads' statements.
    agentflow = chatflow.get("type") == "AGENTFLOW"
    try:
        if agentflow:
            run: AgentflowRun | ChatflowRun = await asyncio.to_thread(
                AgentflowRun, call, chatflow, inp, chat_id, rule, chat_type, streamed=streaming)
        else:
            run = ChatflowRun(call, chatflow, inp, chat_id, rule, chat_type)
    except FlowiseError as exc:
        if _reported_in_stream(call, exc, streaming):
            return _error_stream(exc.message)
        raise
    timing = faults.timing(call.settings)
    settings = call.settings
    if not streaming and timing.instant:
        return await asyncio.to_thread(run.json) if agentflow else run.json()
    rng = random.Random(_seed(chatflow["id"], chat_id, inp.question, call.settings.llm_seed))
    if streaming:
        plan = await asyncio.to_thread(run.plan, timing) if agentflow else run.plan(timing)
        control = register_stream(call.state.streams, f"{chatflow['id']}_{chat_id}")
        frames = paced_frames(plan, timing=timing, rng=rng, streams=call.state.streams, slots=call.state.slots,
                              heartbeat_s=settings.heartbeat_s, max_concurrent=settings.max_concurrent,
                              control=control, cut_after=faults.abort_after, anchor=received)
        return EventStreamResponse(frames)
    asked = loop.time()
    async with generation_slot(call.state.slots, settings.max_concurrent):
        start = received if loop.time() - asked < 0.001 else loop.time()
        deadline = start + timing.total(run.chunk_count(timing), rng)
        delay = deadline - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
    return await asyncio.to_thread(run.json) if agentflow else run.json()


@operation("createPrediction")
async def create_prediction(call: Call) -> dict[str, Any] | EventStreamResponse:
    return await run_prediction(call)
