"""Running a Custom Function node's JavaScript, as Flowise's sandbox does, in an embedded V8 (mini-racer).

Flowise runs the code as the body of an ``async function`` in a NodeVM sandbox that holds ``$input``,
``$vars``, ``$flow`` and one ``$<name>`` per declared input variable, and takes what it returns. Here
each call gets a fresh V8 context holding the same names (as JSON values), with a time and memory
limit; ``require``, ``fetch`` and Node's modules do not exist in it, so code that needs them fails the
node with a ``ReferenceError``, as it would in a locked-down Flowise sandbox.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["JavaScriptError", "run_function"]

TIMEOUT_S = 10.0
MAX_MEMORY = 128 * 1024 * 1024
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custom-function")


class JavaScriptError(Exception):
    """The code threw, did not compile or timed out; the message is ``String()`` of what was thrown."""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "Error"


def run_function(code: str, sandbox: dict[str, Any], *, timeout_s: float = TIMEOUT_S) -> tuple[str, Any]:
    """Run ``code`` as an async function body with ``sandbox``'s names defined; returns ``(typeof, value)``
    of what it returned (``value`` JSON-decoded; ``undefined`` comes back as ``("undefined", None)``).

    It runs on a worker thread: mini-racer enforces its time limit only outside a running event loop."""
    return _worker.submit(_run, code, sandbox, timeout_s).result()


def _run(code: str, sandbox: dict[str, Any], timeout_s: float) -> tuple[str, Any]:
    from py_mini_racer import JSEvalException, JSPromiseError, JSTimeoutException, MiniRacer

    context = MiniRacer()
    try:
        context.set_hard_memory_limit(MAX_MEMORY)
        # set as properties of the global object, as NodeVM does: any name is safe, an identifier is usable
        declarations = "".join(f"globalThis[{json.dumps(name)}] = {json.dumps(value, default=str)};\n"
                               for name, value in sandbox.items())
        wrapped = (f"{declarations}(async function() {{\n{code}\n}})()"
                   ".then(function (r) { return JSON.stringify({t: typeof r, v: r === undefined ? null : r}); })")
        try:
            promise = context.eval(wrapped, timeout_sec=timeout_s)
            result = promise.get(timeout=timeout_s)
        except JSTimeoutException:
            raise JavaScriptError(f"Error: the function ran longer than {timeout_s:g} s") from None
        except JSPromiseError as exc:  # the function threw: String() of what it threw
            raise JavaScriptError(_first_line(str(exc)).split("with reason: ", 1)[-1]) from None
        except JSEvalException as exc:  # it does not compile: "<anonymous>:2: SyntaxError: ..."
            raise JavaScriptError(_first_line(str(exc)).split(": ", 1)[-1]) from None
        decoded = json.loads(result)
        return str(decoded["t"]), decoded["v"]
    finally:
        context.close()
