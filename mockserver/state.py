"""MockState: what one running mock holds besides its settings (db, spec, limiter, live streams).

Built once by ``create_app`` and reached by handlers as ``call.state``; nothing here is global, so two
apps in one process (tests) never share state.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
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
    admin_key: str | None = None
    #: extension slots for subsystems (rate limiter, stream registry, engine, metrics) keyed by name
    extras: dict[str, Any] = field(default_factory=dict)
    _data_dir: str | None = None

    @property
    def data_dir(self) -> str:
        """Where uploaded files go: ``--data-dir``, else beside the database file.

        With ``--db :memory:`` the files are as ephemeral as the data: a temporary folder, made on first use
        and removed with the state, so thousands of short-lived test mocks leave nothing behind.
        """
        if self._data_dir is None:
            if self.settings.data_dir:
                self._data_dir = self.settings.data_dir
            elif self.settings.db != ":memory:":
                self._data_dir = str(Path(self.settings.db).expanduser().resolve().parent / "flowise-mock-data")
            else:
                self._data_dir = tempfile.mkdtemp(prefix="flowise-mock-")
                weakref.finalize(self, shutil.rmtree, self._data_dir, True)
        return self._data_dir
