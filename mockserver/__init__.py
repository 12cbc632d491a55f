"""flowise-mock: a stateful Flowise you can run with no LLM key, built from the spec.

The names below load on first use, so importing the package does not bring the app with it.
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from mockserver.app import create_app
    from mockserver.settings import MockSettings

__all__ = ["MockSettings", "create_app"]


def __getattr__(name: str) -> typing.Any:
    value: object
    if name == "create_app":
        from mockserver.app import create_app

        value = create_app
    elif name == "MockSettings":
        from mockserver.settings import MockSettings

        value = MockSettings
    else:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    globals()[name] = value
    return value
