"""The Agent node: the LLM node's fake model (llm.py) with the agent's tools and knowledge stores."""

from __future__ import annotations

from mockserver.llm.nodes.base import NodeCall
from mockserver.llm.nodes.llm import run_model
from mockserver.llm.nodes.registry import handles


@handles("agentAgentflow")
def agent(call: NodeCall) -> None:
    run_model(call, "agent")
