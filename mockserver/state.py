"""MockState: what one running mock holds besides its settings (db, spec, keys, limiter, live streams).

Built once by ``create_app`` and reached by handlers as ``call.state``; nothing here is global, so two
apps in one process (tests) never share state.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mockserver.auth import KeyRing
from mockserver.metrics import Metrics
from mockserver.ratelimit import RateLimits
from mockserver.settings import MockSettings
from mockserver.store.db import Database
from mockserver.streaming import StreamControl
from mockserver.timing import GenerationSlots

if TYPE_CHECKING:
    from mockserver.llm.script import Script
    from mockserver.spec import Spec

__all__ = ["MockState"]


@dataclass
class MockState:
    settings: MockSettings
    db: Database
    spec: Spec
    workspace_id: str
    admin_key: str | None = None
    _data_dir: str | None = None
    #: the API keys of ``db``, with the gate's in-memory cache (auth.py)
    keys: KeyRing = field(init=False)
    #: per-chatflow rate-limit windows (ratelimit.py); ``/__mock/reset`` empties them
    ratelimits: RateLimits = field(init=False, default_factory=RateLimits)
    #: this app's Prometheus registry (metrics.py)
    metrics: Metrics = field(init=False)
    #: running streams by ``<chatflowid>_<chatId>``, for the abort endpoint (streaming.py)
    streams: dict[str, list[StreamControl]] = field(init=False, default_factory=dict)
    #: the ``--max-concurrent`` generation slots (timing.py)
    slots: GenerationSlots = field(init=False, default_factory=GenerationSlots)
    #: the ``--script`` file as last loaded, re-read when it changes (llm/script.py)
    script: Script | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.keys = KeyRing(self.db, self.workspace_id, shared=self.settings.workers > 1)
        self.metrics = Metrics(self.settings.version)

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
