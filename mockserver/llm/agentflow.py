"""AgentflowV2 execution, faked: nodes run in graph order and report Flowise's executed data.

A ``type: AGENTFLOW`` chatflow answers with ``executionId`` and ``agentFlowExecutedData`` (one entry per
node: ``{nodeId, nodeLabel, data: {id, name, input, output, state}, previousNodeIds, status}``) and
streams ``nextAgentFlow``/``agentFlowExecutedData`` events around each node (docs/agentflows.md#executed-data,
docs/streaming.md#agentflow). What each node kind does is its own module in ``nodes/`` (Start, Direct
Reply, LLM, Agent, Retriever, Condition, Condition Agent, Loop, Iteration, Custom Function, Execute Flow,
Human Input); any other node passes its predecessor's content through. This module is only the scheduler.

The flow state (``{{ $flow.state.<key> }}``) starts as the Start node's ``startState`` (overlaid, when its
``startPersistState`` is on, with the state the session's previous execution ended with) and takes the
update-state entries of the nodes that run (``{{ output }}`` there is what the node answered); each
executed-data entry records the state its node left.

The run goes breadth-first from the nodes nothing leads to. A node several edges lead to runs once all of
them have delivered, but for branches behind a decision, where one arrival per decision is enough
(joins.py); a decision sends the run down its chosen output only; a Loop queues its target again; a Human
Input node stops the run, and a resumed run starts there. Only a node with no outgoing edge streams its
tokens, as in Flowise (``isLastNode``); the answer is the content of the last node run.

Cost: each visit costs what the node's own edges and output cost (graph.py indexes the graph once), and
the prediction's work budget (budget.py) bounds how many nodes, items, loop turns and bytes a request may
take; past it the run fails at the node at hand like any node failure.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from mockserver.llm.budget import BudgetExceeded, size_of
from mockserver.llm.flow import FlowProfile, Node
from mockserver.llm.graph import Graph
from mockserver.llm.joins import Joins
from mockserver.llm.nodes import handler_for
from mockserver.llm.nodes.base import (
    AgentflowContext,
    AgentflowResult,
    ExecutedNode,
    FlowRunner,
    Next,
    NodeCall,
    NodeFailure,
    Resume,
)

__all__ = ["HUMAN_INPUT", "AgentflowContext", "AgentflowResult", "ExecutedNode", "FlowRunner", "NodeFailure",
           "Resume", "run_agentflow"]

HUMAN_INPUT = "humanInputAgentflow"


def run_agentflow(flow: FlowProfile | Graph, ctx: AgentflowContext, resume: Resume | None = None, *,
                  nested: bool = False, streamed: bool = False) -> AgentflowResult:
    """Run the flow (see the module docstring). ``resume`` continues a stopped run at its human-input node;
    ``nested`` runs an Iteration's block for one item: it starts where nothing leads to, and streams
    nothing; ``streamed`` counts the executed data resent after each node against the budget."""
    run = _Run(flow if isinstance(flow, Graph) else Graph.of(flow), ctx, resume, nested=nested, streamed=streamed)
    queue = deque(run.starts())
    while queue:
        node = run.graph.nodes.get(queue.popleft())
        if node is None:
            continue
        call = run.call(node)
        try:
            ctx.budget.node()
            turn = handler_for(node.name)(call) or Next()
            if turn.action is not None:
                return run.stopped(call.entry, turn.action)
            queue.extend(run.finished(call, turn))
        except (NodeFailure, BudgetExceeded) as exc:
            return run.failed(call.entry, exc)
    return run.result()


class _Run:
    """One run's bookkeeping: what ran, what each node answered, the joins, the loops, the chat history."""

    def __init__(self, graph: Graph, ctx: AgentflowContext, resume: Resume | None, *, nested: bool,
                 streamed: bool) -> None:
        self.graph, self.ctx, self.nested, self.streamed = graph, ctx, nested, streamed
        self.outputs: dict[str, str] = {}
        self.prior: list[dict[str, Any]] = []
        self.executed: list[ExecutedNode] = []
        self.conversation: list[dict[str, str]] = []
        self.joins = Joins(graph)
        self.loops: dict[str, int] = {}
        self.pending = resume  # the human's answer, consumed by the first visit of its node
        self.data_size = 0  # bytes of the executed data so far (a stream resends it after each node)
        if resume is not None:
            self.prior = resume.executed
            if self.prior:  # the run goes on with the state its last node left
                last_state = self.prior[-1].get("data", {}).get("state")
                ctx.state = dict(last_state) if isinstance(last_state, dict) else {}
            for entry in self.prior:
                data = entry.get("data", {})
                content = data.get("output", {}).get("content")
                self.outputs[str(entry.get("nodeId"))] = content if isinstance(content, str) else ""
                self.conversation.extend(data.get("chatHistory") or [])
            self.data_size = size_of(self.prior)

    def starts(self) -> list[str]:
        return [self.pending.node_id] if self.pending is not None else self.graph.starts(self.nested)

    def call(self, node: Node) -> NodeCall:
        resume = self.pending if self.pending is not None and self.pending.node_id == node.id else None
        self.pending = None if resume is not None else self.pending
        entry = ExecutedNode(node=node, previous=list(self.graph.before(node.id)), input={}, output={})
        return NodeCall(entry=entry, ctx=self.ctx, graph=self.graph, outputs=self.outputs,
                        conversation=self.conversation, resume=resume, loops=self.loops, run_block=_run_block)

    def finished(self, call: NodeCall, turn: Next) -> list[str]:
        """Record a node that ran and return the nodes to queue after it."""
        entry = call.entry
        entry.state = dict(self.ctx.state)
        if self.nested or self.graph.after(entry.node.id):  # only a node with nowhere to go streams
            entry.tokens, entry.trailing = [], []
        self._spend(entry)
        self.outputs[entry.node.id] = turn.passes if turn.passes is not None else entry.content
        self.executed.append(entry)
        self.conversation.extend(entry.extra.get("chatHistory") or [])
        following = self.joins.delivered(entry.node.id, turn.branch)
        if turn.loop_to is not None:  # go round again: the target and what follows it run anew
            following.append(turn.loop_to)
        return following

    def _spend(self, entry: ExecutedNode) -> None:
        """Charge the node's executed data to the budget (and, on a stream, the executed data resent)."""
        entry.size = size_of(entry.entry())
        self.ctx.budget.answer(entry.size)
        if self.streamed and not self.nested:
            self.data_size += entry.weight
            self.ctx.budget.answer(self.data_size)

    def stopped(self, entry: ExecutedNode, action: dict[str, Any]) -> AgentflowResult:
        entry.state = dict(self.ctx.state)
        self.executed.append(entry)
        return AgentflowResult(nodes=self.executed, text=entry.content, prior=self.prior, action=action)

    def failed(self, entry: ExecutedNode, exc: Exception) -> AgentflowResult:
        """The run ends at the node that failed; out of budget, the Iteration around it fails too."""
        if self.nested and isinstance(exc, BudgetExceeded):
            raise exc
        entry.status, entry.error = "ERROR", str(exc)
        entry.tokens, entry.trailing, entry.after = [], [], []
        self.executed.append(entry)
        return AgentflowResult(nodes=self.executed, text=" ", prior=self.prior, failure=entry.error)

    def result(self) -> AgentflowResult:
        last = self.executed[-1] if self.executed else None
        if last is None:
            return AgentflowResult(nodes=self.executed, text=" ", prior=self.prior)
        return AgentflowResult(nodes=self.executed, text=last.content or " ", source_documents=last.source_documents,
                               used_tools=last.used_tools, prior=self.prior)


def _run_block(block: Graph, ctx: AgentflowContext) -> AgentflowResult:
    return run_agentflow(block, ctx, nested=True)
