"""The OpenAI-compatible surface of the fake LLM (placeholder while the module is written)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from mockserver.state import MockState

__all__ = ["openai_routes"]


def openai_routes(state: MockState) -> list[BaseRoute]:
    return []
