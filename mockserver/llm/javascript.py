"""Running a Custom Function node's JavaScript, as Flowise's sandbox does, in V8 worker processes.

Flowise runs the code as the body of an ``async function`` in a NodeVM sandbox that holds ``$input``,
``$vars``, ``$flow`` and one ``$<name>`` per declared input variable, and takes what it returns. Here
each call gets a fresh V8 context (in ``jsworker``, a child process) holding the same names (as JSON
values); ``require``, ``fetch`` and Node's modules do not exist in it, so code that needs them fails the
node with a ``ReferenceError``, as it would in a locked-down Flowise sandbox.

The limits hold whatever the code does: the time limit covers the whole run, promise continuations
included, because a worker that misses its deadline is killed and replaced; the memory limit covers
ArrayBuffers too (the worker's data segment is capped). ``shutdown()`` kills every worker, so the mock
always stops.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["JavaScriptError", "Limits", "configure", "limits", "run_function", "shutdown"]

TIMEOUT_S = 10.0
MAX_MEMORY = 128 * 1024 * 1024
#: The largest reply (the function's JSON-encoded result) a worker may send back.
MAX_REPLY = 8 * 1024 * 1024
#: Time a worker may take to start (Python + V8), before any function's own limit starts.
_START_TIMEOUT_S = 20.0
#: Time for the reply to travel back, on top of the function's limit.
_REPLY_GRACE_S = 1.0


class JavaScriptError(Exception):
    """The code threw, did not compile, timed out or ran out of memory; the message is what Flowise shows."""


@dataclass(frozen=True)
class Limits:
    """What one Custom Function may use: seconds of wall time, bytes of memory, and concurrent workers."""

    timeout_s: float = TIMEOUT_S
    memory_bytes: int = MAX_MEMORY
    workers: int = 2


class _Worker:
    """One child process running ``jsworker``; used by one call at a time."""

    def __init__(self, memory_bytes: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockserver.llm.jsworker", str(memory_bytes)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)
        self.buffer = b""
        try:
            self.reply(time.monotonic() + _START_TIMEOUT_S)  # {"ready": true}
        except (TimeoutError, EOFError, OSError, OverflowError, ValueError):
            self.kill()
            raise JavaScriptError("Error: the JavaScript sandbox did not start") from None

    def call(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Send one request and wait for its reply until ``deadline`` (``time.monotonic()``); raises
        ``TimeoutError`` when it passes, ``EOFError`` when the worker died, ``OverflowError`` on a huge reply."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request, default=str).encode() + b"\n")
        self.process.stdin.flush()
        return self.reply(deadline)

    def reply(self, deadline: float) -> dict[str, Any]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise EOFError
            self.buffer += chunk
            if len(self.buffer) > MAX_REPLY:
                raise OverflowError
        line, _, self.buffer = self.buffer.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass


class _Pool:
    """Up to ``limits.workers`` workers, started on first use; a wedged or dead one is replaced."""

    def __init__(self, settings: Limits) -> None:
        self.limits = settings
        self.idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self.slots = threading.BoundedSemaphore(settings.workers)
        self.lock = threading.Lock()
        self.busy: set[_Worker] = set()
        self.closed = False

    def run(self, code: str, sandbox: dict[str, Any], timeout_s: float) -> tuple[str, Any]:
        request = {"code": code, "sandbox": sandbox, "timeout_s": timeout_s}
        with self.slots:
            worker = self._take()
            deadline = time.monotonic() + timeout_s + _REPLY_GRACE_S
            try:
                reply = worker.call(request, deadline)
            except TimeoutError:
                self._discard(worker)
                raise JavaScriptError(f"Error: the function ran longer than {timeout_s:g} s") from None
            except (EOFError, OSError):
                self._discard(worker)
                if self.closed:
                    raise JavaScriptError("Error: the server is shutting down") from None
                raise JavaScriptError(
                    f"Error: the function used more than {self.limits.memory_bytes // 2**20} MB of memory") from None
            except OverflowError:
                self._discard(worker)
                raise JavaScriptError(f"Error: the function returned more than {MAX_REPLY // 2**20} MB") from None
            if reply.get("wedged"):
                self._discard(worker)
            else:
                self._give_back(worker)
        if "error" in reply:
            raise JavaScriptError(str(reply["error"]))
        return str(reply["typeof"]), reply["value"]

    def _take(self) -> _Worker:
        with self.lock:
            if self.closed:
                raise JavaScriptError("Error: the server is shutting down")
            while True:
                try:
                    worker = self.idle.get_nowait()
                except queue.Empty:
                    worker = _Worker(self.limits.memory_bytes)
                if worker.alive():
                    break
                worker.kill()
            self.busy.add(worker)
            return worker

    def _give_back(self, worker: _Worker) -> None:
        with self.lock:
            self.busy.discard(worker)
            if self.closed:
                worker.kill()
            else:
                self.idle.put(worker)

    def _discard(self, worker: _Worker) -> None:
        with self.lock:
            self.busy.discard(worker)
        worker.kill()

    def close(self) -> None:
        """Kill every worker, busy ones too: a call waiting on one ends at once with an error."""
        with self.lock:
            self.closed = True
            workers = list(self.busy)
            while not self.idle.empty():
                workers.append(self.idle.get_nowait())
        for worker in workers:
            worker.kill()


_pool = _Pool(Limits())
_pool_lock = threading.Lock()


def configure(settings: Limits) -> None:
    """Use ``settings`` from now on (the mock's ``--js-timeout``, ``--js-memory``, ``--js-workers``)."""
    global _pool
    with _pool_lock:
        old, _pool = _pool, _Pool(settings)
    old.close()


def limits() -> Limits:
    return _pool.limits


def shutdown() -> None:
    """Kill every worker (the mock is stopping); later calls start new ones."""
    configure(_pool.limits)


def run_function(code: str, sandbox: dict[str, Any], *, timeout_s: float | None = None) -> tuple[str, Any]:
    """Run ``code`` as an async function body with ``sandbox``'s names defined; returns ``(typeof, value)``
    of what it returned (``value`` JSON-decoded; ``undefined`` comes back as ``("undefined", None)``).

    Blocks the calling thread (never call it on the event loop) for at most the time limit plus a little."""
    pool = _pool
    return pool.run(code, sandbox, pool.limits.timeout_s if timeout_s is None else timeout_s)
