"""When an agentflow node may run: Flowise 3.1.4's waiting-node rules, for nodes with several inputs.

A node that several edges lead to waits until each of its inputs has arrived, except inputs that come
from behind a decision (a Condition, Condition Agent or Human Input node, found by walking up each
input's first incoming edge): those form one group per decision, and one arrival per group is enough,
since the branches not taken never deliver. A decision's unchosen outputs deliver nothing: the first
edge of each of them is cut. Flowise keeps no "already ran" mark: a node is queued each time it
becomes ready, and a Loop queues its target directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.llm.graph import Graph

__all__ = ["DECISIONS", "Joins"]

#: Flowise's decision nodes: their output conditions say which edges the run follows.
DECISIONS = ("conditionAgentflow", "conditionAgentAgentflow", "humanInputAgentflow")


@dataclass
class _Waiting:
    required: set[str] = field(default_factory=set)
    groups: dict[str, set[str]] = field(default_factory=dict)
    received: set[str] = field(default_factory=set)

    def ready(self) -> bool:
        return self.required <= self.received and all(group & self.received for group in self.groups.values())


class Joins:
    """The nodes waiting for inputs during one request."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.waiting: dict[str, _Waiting] = {}

    def _expect(self, node_id: str) -> _Waiting:
        waiting = _Waiting()
        for source in self.graph.before(node_id):
            if source not in self.graph.nodes:
                continue
            decision = self.graph.decision_above(source, DECISIONS)
            if decision is None:
                waiting.required.add(source)
            else:
                waiting.groups.setdefault(decision, set()).add(source)
        return waiting

    def delivered(self, node_id: str, chosen: str | None) -> list[str]:
        """``node_id`` has run (a decision along its ``chosen`` output anchor): the children that are now
        ready, in edge order, to queue."""
        children = self.graph.after(node_id)
        cut: set[str] = set()
        if chosen is not None:
            firsts: dict[str, str] = {}
            for target in children:
                handle = self.graph.handle(node_id, target)
                if handle is not None and handle != chosen:
                    firsts.setdefault(handle, target)
            cut = set(firsts.values())
        ready = []
        for child in children:
            if child in cut or child not in self.graph.nodes:
                continue
            waiting = self.waiting.get(child)
            if waiting is None:
                waiting = self.waiting[child] = self._expect(child)
            waiting.received.add(node_id)
            if waiting.ready():
                del self.waiting[child]
                ready.append(child)
        return ready
