"""The SQLite connection: every write is committed, and on disk, before its response is sent.

One connection per mock process, WAL journal and ``synchronous=NORMAL``. On a file database the writes
that requests make between two answers share one transaction (group commit, ``durability.py``): the first
write opens it, later ones join it, and the first answer that must wait for them commits it and fsyncs
the WAL once for all of them. A commit writes each changed page once, so a hundred predictions that touch
the same index pages cost one page write, not a hundred; and no answer leaves before its request's
writes are committed and on disk, so no acknowledged write is lost to a ``kill -9`` or a power cut
(docs/README.md#real-state). A read made while such a transaction is open may see its rows, so its answer
waits for the same commit. Writes outside any request (start-up, seeding) commit at once, as does an
in-memory database, and so does every statement when several processes share the file (``--workers``:
a transaction held open across requests would hold SQLite's write lock while this process serves others,
and the other processes' writers would sleep on it; their fsyncs are still shared). Multi-statement writes go through ``transaction()`` (a savepoint inside the shared
transaction: all of it or none). A lock guards the calls from worker threads (agentflows run there).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mockserver.store.durability import Durability, in_request, note_write
from mockserver.store.schema import SCHEMA

__all__ = ["Database", "UnknownColumnError", "json_object", "json_value", "new_id", "now_iso", "page_window", "to_json_text"]

#: How long a statement waits for another process's write to finish before failing with "database is locked".
BUSY_TIMEOUT_MS = 10_000

#: SQLite's largest integer; LIMIT/OFFSET beyond it overflow the driver.
SQLITE_MAX = 2**63 - 1

Params = Sequence[Any] | dict[str, Any]


class UnknownColumnError(ValueError):
    """A row named a column its table does not have (and so would have put foreign text into SQL)."""


_random_pool = bytearray()
_random_lock = threading.Lock()


def _forget_random_pool() -> None:
    """A forked child must not hand out the ids its parent's pool still holds (``--workers``, gunicorn)."""
    global _random_pool
    _random_pool = bytearray()


os.register_at_fork(after_in_child=_forget_random_pool)


def new_id() -> str:
    """A random (version 4) UUID as text, like Flowise's primary keys. ``uuid.uuid4()`` makes one system
    call per id; under load that showed in profiles, so random bytes are drawn 4 KiB at a time."""
    global _random_pool
    with _random_lock:
        if len(_random_pool) < 16:
            _random_pool = bytearray(os.urandom(4096))
        raw = _random_pool[-16:]
        del _random_pool[-16:]
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def now_iso() -> str:
    """A timestamp as Flowise serialises it: ISO-8601, milliseconds, ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_value(text: Any, default: Any = None) -> Any:
    """A JSON-string column parsed; a parsed value passes through; empty or broken text gives ``default``
    (Flowise would fail with a 500 there; the mock keeps answering)."""
    if isinstance(text, (dict, list)):
        return text
    if not isinstance(text, str) or not text.strip():
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def json_object(text: Any) -> dict[str, Any]:
    """A JSON-string column that should hold an object (apiConfig, chatbotConfig, flowData...): anything
    else, e.g. ``"true"`` or ``"[1]"`` which the column's format allows, reads as ``{}``."""
    value = json_value(text)
    return value if isinstance(value, dict) else {}


def page_window(page: int, limit: int) -> tuple[int, int]:
    """``(LIMIT, OFFSET)`` for a 1-based page, clamped to what SQLite accepts (a far page is just empty)."""
    return min(limit, SQLITE_MAX), min((page - 1) * limit, SQLITE_MAX)


def to_json_text(value: Any) -> str | None:
    """Store a JSON column the way Flowise does: strings stay as sent, other values are serialised."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


class Database:
    """A small wrapper over one sqlite3 connection; rows come back as plain dicts."""

    def __init__(self, path: str, *, share_transactions: bool = True) -> None:
        self.path = path
        if path != ":memory:":
            Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._in_tx = 0
        #: the number the shared transaction's commit will have; 0: none is open
        self._shared_seq = 0
        self._share = share_transactions
        self.durability = Durability(path, flush=self.commit_shared)
        # Other processes on the same file (--workers) hold its write lock for a commit at a time: wait for it.
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a commit does not wait for the disk; the answer does (durability.py), one fsync for many.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)
        self._columns: dict[str, frozenset[str]] = {}

    def close(self) -> None:
        with self._lock:
            self.commit_shared()
            self._conn.close()
            self.durability.close()

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one writing statement; returns the number of rows changed. Within a request on a file
        database it joins the shared transaction; otherwise it is a commit of its own. Either way the
        current request's answer waits to see it committed and on disk."""
        with self._lock:
            if self._in_tx:
                return int(self._conn.execute(sql, params).rowcount)
            if self._joins_shared():
                return self._shared(sql, params)
            changed: int = self._conn.execute(sql, params).rowcount
            note_write(self.durability.committed_one())
            return changed

    def _joins_shared(self) -> bool:
        """Does a write now go into the shared transaction? Yes within a request on a file database, and
        whenever one is open (the connection has one transaction at a time)."""
        return self._shared_seq != 0 or (self._share and self.durability.enabled and in_request())

    def _shared(self, sql: str, params: Params) -> int:
        if self._shared_seq == 0:
            self._conn.execute("BEGIN IMMEDIATE")
            self._shared_seq = self.durability.committed + 1
        try:
            changed = int(self._conn.execute(sql, params).rowcount)
        finally:
            if not self._conn.in_transaction:  # SQLite rolled the whole transaction back (disk full, I/O)
                self.durability.lost(self._shared_seq)
                self._shared_seq = 0
        note_write(self._shared_seq)
        if not in_request():  # nobody will wait for it: commit now
            self.commit_shared()
        return changed

    def commit_shared(self) -> None:
        """Commit the shared transaction, if one is open (the durability round does, before its fsync)."""
        with self._lock:
            seq, self._shared_seq = self._shared_seq, 0
            if seq == 0:
                return
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                self.durability.lost(seq)
                raise
            self.durability.committed_one()

    def _saw_shared(self) -> None:
        """A read while the shared transaction is open may show its rows: the answer waits for its commit."""
        if self._shared_seq:
            note_write(self._shared_seq)

    def query(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        with self._lock:
            self._saw_shared()
            return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        with self._lock:
            self._saw_shared()
            row = self._conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        with self._lock:
            self._saw_shared()
            row = self._conn.execute(sql, params).fetchone()
        return row[0] if row is not None else None

    def data_version(self) -> int:
        """A number that changes when another connection (another ``--workers`` process) commits."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def columns(self, table: str) -> frozenset[str]:
        """The columns of ``table`` as the schema declares them (empty for a table that does not exist)."""
        if table not in self._columns:
            with self._lock:
                names = self._conn.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
            self._columns[table] = frozenset(r[0] for r in names)
        return self._columns[table]

    def check_columns(self, table: str, names: Iterable[str]) -> None:
        """Column names reach SQL text, never as parameters: only the schema's own names may pass."""
        known = self.columns(table)
        if not known:
            raise UnknownColumnError(f"no table {table!r}")
        unknown = sorted(set(names) - known)
        if unknown:
            raise UnknownColumnError(f"unknown fields: {', '.join(unknown)}")

    def insert(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        """Insert ``row`` (column names are Flowise's field names) and return it."""
        self.check_columns(table, row)
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        self.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', list(row.values()))
        return row

    def update(self, table: str, key: str, changes: dict[str, Any]) -> int:
        if not changes:
            return 0
        self.check_columns(table, changes)
        sets = ", ".join(f'"{c}" = ?' for c in changes)
        return self.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', [*changes.values(), key])

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self.one(f'SELECT * FROM "{table}" WHERE id = ?', (key,))

    def delete(self, table: str, key: str) -> int:
        return self.execute(f'DELETE FROM "{table}" WHERE id = ?', (key,))

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """Group statements into one durable unit: all of them or none (nested calls join the outer one).
        Within the shared transaction it is a savepoint of it."""
        with self._lock:
            if self._in_tx:
                self._in_tx += 1
                try:
                    yield self
                finally:
                    self._in_tx -= 1
                return
            if self._joins_shared():
                yield from self._savepoint()
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._in_tx = 1
            try:
                yield self
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
                note_write(self.durability.committed_one())
            finally:
                self._in_tx = 0

    def _savepoint(self) -> Iterator[Database]:
        if self._shared_seq == 0:
            self._conn.execute("BEGIN IMMEDIATE")
            self._shared_seq = self.durability.committed + 1
        self._conn.execute("SAVEPOINT unit")
        self._in_tx = 1
        try:
            yield self
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK TO unit")
                self._conn.execute("RELEASE unit")
            else:  # SQLite rolled the whole shared transaction back (disk full, I/O)
                self.durability.lost(self._shared_seq)
                self._shared_seq = 0
            raise
        else:
            self._conn.execute("RELEASE unit")
            note_write(self._shared_seq)
            if not in_request():
                self.commit_shared()
        finally:
            self._in_tx = 0

    def meta(self, key: str) -> str | None:
        value: str | None = self.scalar("SELECT value FROM mock_meta WHERE key = ?", (key,))
        return value

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO mock_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def wipe(self) -> None:
        """Delete every row of every resource table (``POST /__mock/reset``), keeping the schema."""
        with self.transaction():
            tables = [r["name"] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                if table != "mock_meta" and not table.startswith("sqlite_"):
                    self.execute(f'DELETE FROM "{table}"')
