"""What this run created, so that it deletes exactly that and nothing else.

The suite is meant to be pointed at production. It names what it creates with the run prefix
`conformance-<run>`, records every created resource here the moment the target confirms it, and at
session end deletes the entries in reverse order (children before parents: a chat message before
its chatflow), also after a failure or Ctrl-C. Nothing that is not in the ledger is ever deleted.
The ledger is mirrored to a JSON file after each change so that a killed run leaves a list of what
it left behind.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CleanupResult", "Entry", "Ledger", "new_run_id"]

_RUN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,40}$")


def new_run_id() -> str:
    """A short id that makes this run's names unique and recognisable (`conformance-<run>`)."""
    import secrets
    import time

    return time.strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)


@dataclass(frozen=True, slots=True)
class Entry:
    """One resource the run created, with the request that removes it."""

    kind: str
    id: str
    delete_path: str
    name: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "id": self.id,
            "delete_path": self.delete_path,
            "name": self.name,
            "params": dict(self.params),
        }


@dataclass(frozen=True, slots=True)
class CleanupResult:
    entry: Entry
    #: The status of the DELETE (404 counts as already gone), None when it did not get an answer.
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and (200 <= self.status < 300 or self.status == 404)


class Ledger:
    """Thread-safe record of created resources (schemathesis runs checks from worker threads)."""

    def __init__(self, run_id: str, *, path: Path | None = None) -> None:
        if not _RUN_ID.match(run_id):
            raise ValueError(f"run id {run_id!r} must be 3-41 lowercase letters, digits or dashes")
        self.run_id = run_id
        self.path = path
        self._entries: list[Entry] = []
        self._removed: list[Entry] = []
        self._claimed: set[str] = set()
        self._lock = threading.RLock()

    @property
    def prefix(self) -> str:
        return f"conformance-{self.run_id}"

    def name(self, label: str) -> str:
        """A resource name that says which run made it."""
        return f"{self.prefix}-{label}"

    def is_ours_name(self, name: object) -> bool:
        return isinstance(name, str) and name.startswith(self.prefix)

    def record(
        self,
        kind: str,
        id: str,
        delete_path: str,
        *,
        name: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Entry:
        """Remember a created resource; recording the same (kind, id) twice keeps the first entry."""
        entry = Entry(kind=kind, id=str(id), delete_path=delete_path, name=name, params=dict(params or {}))
        with self._lock:
            for existing in self._entries:
                if existing.kind == entry.kind and existing.id == entry.id:
                    return existing
            self._entries.append(entry)
            self._save()
        return entry

    def claim(self, value: object) -> None:
        """Remember an id the run produced that has no DELETE of its own (a chat id, a message id)."""
        with self._lock:
            self._claimed.add(str(value))

    def owns(self, id: object, *, kind: str | None = None) -> bool:
        """Whether the run made this id (kind None: any entry or claimed value)."""
        with self._lock:
            if kind is None and str(id) in self._claimed:
                return True
            return any(
                entry.id == str(id) and (kind is None or entry.kind == kind)
                for entry in (*self._entries, *self._removed)
            )

    def ids(self, kind: str) -> list[str]:
        with self._lock:
            return [entry.id for entry in self._entries if entry.kind == kind]

    def made(self, kind: str) -> list[str]:
        """Ids of a kind the run created, deleted since or not (ids() lists only what is left)."""
        with self._lock:
            return [entry.id for entry in (*self._entries, *self._removed) if entry.kind == kind]

    def forget(self, kind: str, id: str) -> None:
        """A test deleted the resource itself: nothing left to clean up."""
        with self._lock:
            kept = [entry for entry in self._entries if not (entry.kind == kind and entry.id == str(id))]
            self._removed += [entry for entry in self._entries if entry not in kept]
            self._entries = kept
            self._save()

    @property
    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def cleanup(self, delete: Callable[[Entry], int | None]) -> list[CleanupResult]:
        """Delete every entry, newest first; one failure does not stop the others."""
        results: list[CleanupResult] = []
        for entry in reversed(self.entries):
            try:
                status = delete(entry)
            except Exception as exc:  # a cleanup must try every entry, whatever one of them does
                results.append(CleanupResult(entry=entry, status=None, error=f"{type(exc).__name__}: {exc}"))
                continue
            result = CleanupResult(entry=entry, status=status)
            results.append(result)
            if result.ok:
                self.forget(entry.kind, entry.id)
        return results

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "run_id": self.run_id,
            "prefix": self.prefix,
            "remaining": [entry.to_dict() for entry in self._entries],
            "removed": [entry.to_dict() for entry in self._removed],
        }
        self.path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
