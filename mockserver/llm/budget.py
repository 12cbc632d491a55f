"""How much work one prediction may make an agentflow do before it fails.

A graph is data an admin saves, but its size is not the only lever: the anonymous question can be an
Iteration's array, a Loop may go round tens of thousands of times, an Iteration can hold itself, and a
stream repeats the whole executed data after every node (as Flowise's does), so its bytes grow with the
square of the nodes run. Without a cap one small request could take the server's memory and CPU. The
budget counts, over one prediction (the flows its Execute Flow nodes call included), the nodes run, the
Iteration items, the Loop jumps and the bytes of executed data produced (sent, for a stream); the first
count to pass its limit fails the node at hand, through the same path as any node failure (JSON: 500
``Error: predictionsServices.buildChatflow - <why>``; a stream: the ERROR events).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["Budget", "BudgetExceeded", "size_of"]


class BudgetExceeded(Exception):
    """The prediction has used up one of its limits; nothing more may run (not even in an Iteration)."""


@dataclass
class Budget:
    """The limits of one prediction and what it has spent so far (shared by every run it makes)."""

    max_nodes: int = 2000
    max_iteration_items: int = 1000
    max_loop_turns: int = 1000
    max_answer_bytes: int = 5 * 1024 * 1024
    nodes: int = 0
    iteration_items: int = 0
    loop_turns: int = 0
    answer_bytes: int = 0
    #: why the budget ran out: once set, every further spending (and ``check``) fails the same way
    exceeded: str | None = None

    def _spend(self, spent: int, limit: int, what: str, flag: str) -> None:
        if self.exceeded is None and spent > limit:
            self.exceeded = f"Agentflow work budget exceeded: more than {limit} {what} in one prediction ({flag})"
        self.check()

    def check(self) -> None:
        """Fail if the budget has run out, here or in a flow an Execute Flow node called."""
        if self.exceeded is not None:
            raise BudgetExceeded(self.exceeded)

    def node(self) -> None:
        self.nodes += 1
        self._spend(self.nodes, self.max_nodes, "nodes run", "--agentflow-max-nodes")

    def items(self, count: int) -> None:
        self.iteration_items += count
        self._spend(self.iteration_items, self.max_iteration_items, "iteration items",
                    "--agentflow-max-iteration-items")

    def loop_turn(self) -> None:
        self.loop_turns += 1
        self._spend(self.loop_turns, self.max_loop_turns, "loop turns", "--agentflow-max-loop-turns")

    def answer(self, size: int) -> None:
        self.answer_bytes += size
        self._spend(self.answer_bytes, self.max_answer_bytes, "bytes of executed data",
                    "--agentflow-max-answer-size")


def size_of(value: Any) -> int:
    """About how many bytes ``value`` takes as the compact JSON of an answer."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))
