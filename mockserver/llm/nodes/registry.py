"""The agentflow node registry: one handler per Flowise node name, checked when the package is imported.

Each node module registers its handler with ``@handles("<flowise node name>")``. As with the operation
handlers (operations.py), a mistake stops the mock from starting rather than surfacing on a request: a
name Flowise has no node for, or a second handler for the same name, raises ``NodeRegistryError`` at
import, and ``check_registry`` (run once all modules are in) requires every Flowise node to be either
handled or listed as passed through.
"""

from __future__ import annotations

from collections.abc import Callable

from mockserver.llm.answer import tokenize
from mockserver.llm.nodes.base import Next, NodeCall

__all__ = ["FLOWISE_NODES", "PASSED_THROUGH", "Handler", "NodeRegistryError", "check_registry", "handler_for",
           "handles"]

Handler = Callable[[NodeCall], "Next | None"]

#: The node names of Flowise 3.1's AgentflowV2 palette (the sticky note never runs: flow.py drops it).
FLOWISE_NODES = frozenset({
    "startAgentflow", "llmAgentflow", "agentAgentflow", "toolAgentflow", "retrieverAgentflow",
    "conditionAgentflow", "conditionAgentAgentflow", "loopAgentflow", "iterationAgentflow",
    "humanInputAgentflow", "directReplyAgentflow", "customFunctionAgentflow", "executeFlowAgentflow",
    "httpAgentflow",
})
#: Flowise nodes the mock does not imitate: they pass their predecessor's content on, like any unknown node.
PASSED_THROUGH = frozenset({"toolAgentflow", "httpAgentflow"})

_handlers: dict[str, Handler] = {}


class NodeRegistryError(RuntimeError):
    """The registry and Flowise's node list disagree: raised at import, never on a request."""


def handles(name: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of Flowise node ``name``."""

    def register(fn: Handler) -> Handler:
        if name not in FLOWISE_NODES:
            raise NodeRegistryError(f"{fn.__module__}.{fn.__name__} handles {name!r}, which is no Flowise agentflow node")
        if name in PASSED_THROUGH:
            raise NodeRegistryError(f"{name!r} is listed as passed through but {fn.__module__} handles it")
        known = _handlers.get(name)
        if known is not None and known is not fn:
            raise NodeRegistryError(f"node {name!r} has two handlers: {known.__module__}.{known.__name__} "
                                    f"and {fn.__module__}.{fn.__name__}")
        _handlers[name] = fn
        return fn

    return register


def pass_through(call: NodeCall) -> None:
    """Any other node: its predecessor's content goes on, as its own, streamed token by token."""
    before = call.passed_on()
    call.entry.output = {"content": before}
    call.entry.tokens = tokenize(before)


def handler_for(name: str) -> Handler:
    return _handlers.get(name, pass_through)


def check_registry() -> None:
    """Every Flowise node is handled or passed through (see the module docstring)."""
    missing = sorted(FLOWISE_NODES - PASSED_THROUGH - set(_handlers))
    if missing:
        raise NodeRegistryError(f"no handler for the Flowise agentflow nodes {', '.join(missing)}")
