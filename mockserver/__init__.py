"""flowise-mock: a stateful Flowise you can run with no LLM key, built from the spec."""

from __future__ import annotations

from mockserver.app import create_app
from mockserver.settings import MockSettings

__all__ = ["MockSettings", "create_app"]
