"""An agentflow's graph, indexed once per run, so each node the run visits costs what its own edges cost.

``FlowProfile`` keeps nodes and edges as lists, as the flowData has them; asking a list for a node's
predecessors on every visit made a run quadratic in its length, and the walk up to the decision above a
join cubic. Here the lookups are dictionaries built in one pass, the walk is remembered, and the block
inside each Iteration node is built once and shared by all its items. Lists keep the flowData's edge
order, which decides the order nodes run in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from mockserver.llm.flow import FlowProfile, Node

__all__ = ["Graph"]


@dataclass
class Graph:
    """``profile``'s nodes by id and edges by end (see the module docstring)."""

    profile: FlowProfile
    nodes: dict[str, Node]
    predecessors: dict[str, list[str]]
    successors: dict[str, list[str]]
    _blocks: dict[str, Graph] = field(default_factory=dict)
    _decisions: dict[frozenset[str], dict[str, str | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: FlowProfile) -> Graph:
        nodes: dict[str, Node] = {}
        for node in profile.nodes:
            nodes.setdefault(node.id, node)  # the first of a duplicated id, as a list search finds it
        predecessors: dict[str, list[str]] = {}
        successors: dict[str, list[str]] = {}
        for source, target in profile.edges:
            successors.setdefault(source, []).append(target)
            predecessors.setdefault(target, []).append(source)
        return cls(profile, nodes, predecessors, successors)

    def before(self, node_id: str) -> list[str]:
        return self.predecessors.get(node_id, [])

    def after(self, node_id: str) -> list[str]:
        return self.successors.get(node_id, [])

    def handle(self, source: str, target: str) -> str | None:
        """The output anchor the edge ``source`` → ``target`` leaves from."""
        return self.profile.source_handles.get((source, target))

    def starts(self, nested: bool) -> list[str]:
        """Where a run begins: the nodes no edge leads to (outside Iteration blocks, unless ``nested``)."""
        return [n.id for n in self.profile.nodes
                if n.id not in self.predecessors and (nested or not n.inside_parent)]

    def block(self, parent_id: str) -> Graph:
        """The nodes inside Iteration node ``parent_id``, as a graph of their own (built once)."""
        block = self._blocks.get(parent_id)
        if block is None:
            block = self._blocks[parent_id] = Graph.of(self.profile.block(parent_id))
        return block

    def decision_above(self, node_id: str, decisions: Collection[str]) -> str | None:
        """The first decision node (by name in ``decisions``) found walking up from ``node_id`` along each
        node's first incoming edge; None at a node nothing leads to, or round a cycle. Every node the walk
        passes gets the same answer, which is remembered."""
        known = self._decisions.setdefault(frozenset(decisions), {})
        path: list[str] = []
        seen: set[str] = set()
        current: str | None = node_id
        found: str | None = None
        while current is not None and current not in seen:
            if current in known:
                found = known[current]
                break
            node = self.nodes.get(current)
            if node is None:
                break
            if node.name in decisions:
                found = node.id
                break
            seen.add(current)
            path.append(current)
            parents = self.predecessors.get(current)
            current = parents[0] if parents else None
        for passed in path:
            known[passed] = found
        return found
