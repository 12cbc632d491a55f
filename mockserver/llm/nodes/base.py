"""What the agentflow scheduler (agentflow.py) and the node handlers share: the run's context, one node's
executed entry, what a handler is given and what it answers, and the helpers several handlers use.

A handler fills in the ``ExecutedNode`` it is handed (input, output, tokens, chat history) and returns a
``Next`` when the run should not simply go on along all its edges: one output only (a decision), back
to a node (a Loop), or nowhere, the run stopping with an action (Human Input). It raises ``NodeFailure``
when the node cannot run. Handlers never touch the queue, the joins or the executed list themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from mockserver.llm.answer import Attachment
from mockserver.llm.budget import Budget
from mockserver.llm.flow import Node
from mockserver.llm.memory import Turn
from mockserver.llm.templates import substitute
from mockserver.store.db import Database

if TYPE_CHECKING:
    from mockserver.llm.graph import Graph

__all__ = ["AgentflowContext", "AgentflowResult", "ExecutedNode", "FlowRunner", "Next", "NodeCall", "NodeFailure",
           "Resume", "as_text", "list_input", "update_state"]


class NodeFailure(Exception):
    """A node could not run: the run stops there with the node and the execution in ERROR."""


class FlowRunner(Protocol):
    """How an Execute Flow node reaches another chatflow: it runs ``flow_id`` as a prediction of this
    server (``question``, this run's ``chatId``, ``overrideConfig``) and returns its JSON answer, or its
    error body when it fails. The prediction layer supplies it; the engine never imports that layer."""

    def __call__(self, flow_id: str, question: object, override: Any) -> dict[str, Any]: ...


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
    #: what Execute Flow nodes call (None: they fail)
    execute_flow: FlowRunner | None = None
    #: inside an Iteration node: ``{index, value, isFirst, isLast, sessionId}`` of the item being run
    iteration: dict[str, Any] | None = None
    #: how many Iteration nodes this run is inside
    nesting: int = 0
    #: the prediction's work budget, shared by the runs inside Iteration nodes and the flows called
    budget: Budget = field(default_factory=Budget)


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
    #: what an LLM or Agent node retrieved and called: the answer's, when it is the last node
    source_documents: list[dict[str, Any]] | None = None
    used_tools: list[dict[str, Any]] | None = None
    #: about how many bytes its own entry takes (for the budget)
    size: int = 0

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
    def weight(self) -> int:
        """About how many bytes its entries take, the runs inside it included."""
        return self.size + sum(child.weight for child in self.children) if self.recorded else 0

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


@dataclass
class Resume:
    """A stopped execution being continued at its human-input node with the human's decision."""

    executed: list[dict[str, Any]]
    node_id: str
    proceed: bool
    feedback: str | None = None
    #: the request's ``humanInput`` as sent, echoed in the node's input
    human_input: dict[str, Any] = field(default_factory=dict)


@dataclass
class Next:
    """Where the run goes once a node has run; the default: along all its edges."""

    #: a decision's chosen output anchor (``<nodeId>-output-<n>``): only its edges are followed
    branch: str | None = None
    #: a Loop's target, run again (with what follows it) after the node's own successors
    loop_to: str | None = None
    #: the run stops here, asking this (a Human Input node's Proceed / Reject)
    action: dict[str, Any] | None = None
    #: what later nodes read as this node's answer, when it is not its content (the Start node's question)
    passes: str | None = None


@dataclass
class NodeCall:
    """What a handler is given: the entry to fill in, the run's context and the run around the node."""

    entry: ExecutedNode
    ctx: AgentflowContext
    graph: Graph
    #: each node's answer so far, by id (``{{ <nodeId> }}``)
    outputs: dict[str, str]
    #: the run's own chat history so far (the chat history of the executed data before this node)
    conversation: list[dict[str, str]]
    #: the human's answer, when this node is the one a resumed run continues at
    resume: Resume | None
    #: jumps made by each Loop node in this run
    loops: dict[str, int]
    #: runs the nodes of an Iteration block for one item (the scheduler, nested)
    run_block: Callable[[Graph, AgentflowContext], AgentflowResult]

    @property
    def node(self) -> Node:
        return self.entry.node

    @property
    def inputs(self) -> dict[str, Any]:
        return self.entry.node.inputs

    def resolve(self, template: str) -> str:
        """``template`` with its ``{{ ... }}`` placeholders resolved (templates.py)."""
        return substitute(template, self.ctx, self.outputs)

    def passed_on(self) -> str:
        """What the node received: the answer of the last of its predecessors that ran, else the question."""
        ran = [p for p in self.graph.before(self.node.id) if p in self.outputs]
        return self.outputs[ran[-1]] if ran else self.ctx.question

    def update_state(self, key: str, output: str) -> None:
        """Apply the node's ``<key>`` update-state list (see ``update_state``)."""
        update_state(self.ctx, self.outputs, self.inputs.get(key), output)


def list_input(value: Any) -> list[dict[str, Any]]:
    """A node's array input (conditions, state updates): a list, or its JSON text; objects only."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def update_state(ctx: AgentflowContext, outputs: dict[str, str], updates: Any, output: str) -> None:
    """A node's ``...UpdateState`` list (``[{key, value}]``): values resolved like any input, then
    ``{{ output }}`` replaced by what the node answered, merged into the flow state."""
    for update in list_input(updates):
        if update.get("key"):
            value = update.get("value")
            if isinstance(value, str):
                value = substitute(value, ctx, outputs)
                if "{{ output }}" in value or "{{output}}" in value:
                    value = output
            ctx.state[str(update["key"])] = value


def as_text(value: Any) -> str:
    """A content as it is streamed: text as it is, anything else as indented JSON."""
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
