"""MockState: what one running mock holds besides its settings (db, spec, limiter, live streams).

Built once by ``create_app`` and reached by handlers as ``call.state``; nothing here is global, so two
apps in one process (tests) never share state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockserver.settings import MockSettings
from mockserver.store.db import Database

if TYPE_CHECKING:
    from mockserver.spec import Spec

__all__ = ["MockState"]


@dataclass
class MockState:
    settings: MockSettings
    db: Database
    spec: Spec
    workspace_id: str
    data_dir: str
    admin_key: str | None = None
    #: extension slots for subsystems (rate limiter, stream registry, engine, metrics) keyed by name
    extras: dict[str, Any] = field(default_factory=dict)
