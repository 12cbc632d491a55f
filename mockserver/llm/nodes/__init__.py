"""The agentflow nodes the mock runs, one module per Flowise node kind, each registering its handler.

Importing the package imports every node module and checks the registry (registry.py), so a handler
missing or registered twice stops the mock at start. The scheduler (agentflow.py) asks ``handler_for``
with the node's Flowise name; what the handlers share is in base.py.
"""

from __future__ import annotations

from mockserver.llm.nodes import (  # noqa: F401 - each module registers its handler on import
    agent,
    condition,
    condition_agent,
    custom_function,
    direct_reply,
    execute_flow,
    human_input,
    iteration,
    llm,
    loop,
    retriever,
    start,
)
from mockserver.llm.nodes.registry import check_registry, handler_for

__all__ = ["handler_for"]

check_registry()
