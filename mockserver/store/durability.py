"""Group commit: no byte of an answer leaves before the writes its request made are committed and on
disk, and one commit and one fsync make many requests' writes durable at once.

A file database runs in WAL mode with ``synchronous=NORMAL``: a COMMIT hands its frames to the kernel
(a ``kill -9`` of the mock cannot lose them) without waiting for the disk. What makes them survive a
power cut is an fsync of the WAL file. Requests write into one shared transaction (db.py) and record the
number its commit will have (``note_write``); before its answer is sent (``DurableAnswers``), a request
waits for a round that commits that transaction (``flush``) and then fsyncs the WAL in a worker thread,
off the event loop. Requests that write while a round is under way share the next one, so under load
one commit and one fsync cover dozens of answers instead of one each (SQLite's ``synchronous=FULL``
fsyncs every COMMIT on the thread that commits: the event loop). An in-memory database has nothing to
make durable and commits every statement at once.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DurableAnswers", "Durability", "LostWriteError", "RequestWrites", "in_request", "note_write"]


class RequestWrites:
    """The newest commit one request made (0: none); shared with the threads the request runs work in."""

    __slots__ = ("seq",)

    def __init__(self) -> None:
        self.seq = 0


_WRITES: ContextVar[RequestWrites | None] = ContextVar("mock_request_writes", default=None)


def in_request() -> bool:
    """Is a request being answered here (its answer will wait for its writes)?"""
    return _WRITES.get() is not None


class LostWriteError(RuntimeError):
    """SQLite rolled back a shared transaction (disk full, I/O error): the requests in it must not be
    told that their writes are saved."""


def note_write(seq: int) -> None:
    """Called by the database after each commit: the current request (if any) waits for ``seq``."""
    writes = _WRITES.get()
    if writes is not None and seq > writes.seq:
        writes.seq = seq


class Durability:
    """Counts commits and fsyncs the WAL file on demand, one fsync for every waiter gathered meanwhile."""

    def __init__(self, path: str, *, flush: Callable[[], None] = lambda: None) -> None:
        self.enabled = path != ":memory:"
        self.flush = flush  # commits what requests wrote since the last round (db.py)
        self._lost: set[int] = set()  # commits SQLite rolled back: their waiters fail
        self.wal = Path(path + "-wal") if self.enabled else None
        self.committed = 0  # commits so far (the database bumps it, under its lock)
        self.durable = 0  # every commit up to this one is on disk
        self.fsyncs = 0
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._inode: tuple[int, int] | None = None
        self._round: asyncio.Future[None] | None = None

    def committed_one(self) -> int:
        """Count a commit; returns its number (the database calls this under its own lock)."""
        self.committed += 1
        return self.committed

    def lost(self, seq: int) -> None:
        """Commit ``seq`` will never happen: SQLite rolled its transaction back. Its number is used up, so the
        next transaction gets another one; whoever waits for it is told (``LostWriteError``)."""
        self._lost.add(seq)
        if self.committed < seq:
            self.committed = seq

    async def wait(self, seq: int) -> None:
        """Return once commit ``seq`` is on disk; the first waiter starts a round, the others join it."""
        while self.durable < seq:
            if self._round is None:
                self._round = asyncio.ensure_future(self._fsync_round())
            await asyncio.shield(self._round)
        if seq in self._lost:
            raise LostWriteError(f"the database rolled back a transaction (commit {seq}); see the log")

    async def _fsync_round(self) -> None:
        try:
            self.flush()
            upto = self.committed  # every commit made before the fsync starts is covered by it
            await asyncio.to_thread(self.sync)
            self.durable = max(self.durable, upto)
        finally:
            self._round = None

    def sync(self) -> None:
        """fsync the WAL file (reopened if SQLite replaced it)."""
        if self.wal is None:
            return
        with self._lock:
            try:
                stat = os.stat(self.wal)
            except FileNotFoundError:
                return  # no WAL: every commit is in the database file, which SQLite synced at checkpoint
            inode = (stat.st_dev, stat.st_ino)
            if self._fd is None or inode != self._inode:
                self.close()
                self._fd, self._inode = os.open(self.wal, os.O_RDONLY), inode
            os.fsync(self._fd)
            self.fsyncs += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class DurableAnswers:
    """Pure ASGI middleware: each request gets its write record; each message it sends waits first for
    the request's writes to be durable (at most one fsync round; nothing at all for requests that did
    not write, or whose writes an earlier fsync already covered)."""

    def __init__(self, app: ASGIApp, *, durability: Durability) -> None:
        self.app = app
        self.durability = durability

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.durability.enabled:
            await self.app(scope, receive, send)
            return
        writes = RequestWrites()
        token = _WRITES.set(writes)
        durability = self.durability

        async def durable_send(message: Message) -> None:
            if writes.seq > durability.durable:
                await durability.wait(writes.seq)
            await send(message)

        try:
            await self.app(scope, receive, durable_send)
            if writes.seq > durability.durable:  # wrote after its last message: still commit it before it ends
                await durability.wait(writes.seq)
        finally:
            _WRITES.reset(token)
