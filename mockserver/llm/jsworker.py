"""The process a Custom Function's JavaScript runs in: V8 (mini-racer), one JSON request per line on stdin,
one JSON reply per line on stdout.

A process, not a thread, because only a process can be stopped whatever the code does: a promise
continuation (``await null; while (true) {}``) runs after the evaluation's time limit has let go, and
ArrayBuffers live outside the V8 heap its memory limit watches. The parent kills this process when its
deadline passes and caps its data segment (``RLIMIT_DATA``): start-up size plus the function's memory
cap, so typed arrays count too. Running out of that memory may abort the process; the parent sees the
pipe close and reports an out-of-memory error.

Started as ``python -m mockserver.llm.jsworker MEMORY_BYTES``; it loads V8, caps its memory and writes
``{"ready": true}``. Request: ``{"code", "sandbox", "timeout_s"}``. Reply: ``{"typeof", "value"}`` or
``{"error"}`` (with ``"wedged": true`` when V8 may still be running the code: the parent then replaces
this process). Standard library and mini-racer only: this module must start fast.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from typing import Any, cast


def _data_bytes() -> int:
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _cap_memory(memory_bytes: int) -> None:
    """Once V8 is up: whatever the function allocates, the data segment may grow by ``memory_bytes`` only."""
    from py_mini_racer import MiniRacer

    warm = MiniRacer()  # V8's process-wide reservations happen once, before the cap
    warm.eval("1")
    warm.close()
    if os.path.exists(f"/proc/{os.getpid()}/status"):
        hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        limit = _data_bytes() + memory_bytes
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "Error"


def run(request: dict[str, Any], memory: int) -> dict[str, Any]:
    from py_mini_racer import (
        JSEvalException,
        JSOOMException,
        JSPromise,
        JSPromiseError,
        JSTimeoutException,
        MiniRacer,
    )

    timeout_s = float(request["timeout_s"])
    context = MiniRacer()
    try:
        context.set_hard_memory_limit(memory)
        # set as properties of the global object, as NodeVM does: any name is safe, an identifier is usable
        declarations = "".join(f"globalThis[{json.dumps(name)}] = {json.dumps(value, default=str)};\n"
                               for name, value in request["sandbox"].items())
        wrapped = (f"{declarations}(async function() {{\n{request['code']}\n}})()"
                   ".then(function (r) { return JSON.stringify({t: typeof r, v: r === undefined ? null : r}); })")
        try:
            # the wrapper evaluates to a promise, which settles to the JSON.stringify text
            promise = cast(JSPromise, context.eval(wrapped, timeout_sec=timeout_s))
            result = promise.get(timeout=timeout_s)
        except JSTimeoutException:
            return {"error": f"Error: the function ran longer than {timeout_s:g} s", "wedged": True}
        except JSOOMException:
            return {"error": f"Error: the function used more than {memory // 2**20} MB of memory"}
        except JSPromiseError as exc:  # the function threw: String() of what it threw
            return {"error": _first_line(str(exc)).split("with reason: ", 1)[-1]}
        except JSEvalException as exc:  # it does not compile: "<anonymous>:2: SyntaxError: ..."
            return {"error": _first_line(str(exc)).split(": ", 1)[-1]}
        decoded = json.loads(cast(str, result))
        return {"typeof": str(decoded["t"]), "value": decoded["v"]}
    finally:
        context.close()


def _die_with_parent() -> None:
    """Linux: the kernel kills this process when the mock dies, even by ``kill -9``."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> int:
    _die_with_parent()
    memory = int(sys.argv[1])
    _cap_memory(memory)
    out = sys.stdout.buffer
    out.write(b'{"ready": true}\n')
    out.flush()
    for line in sys.stdin.buffer:
        try:
            reply = run(json.loads(line), memory)
        except MemoryError:
            reply = {"error": "Error: the function ran out of memory"}
        except Exception as exc:  # noqa: BLE001 - any failure is the function's error, never the worker's end
            reply = {"error": f"Error: {type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply, default=str).encode() + b"\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
