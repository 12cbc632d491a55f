"""Parsing a request's JSON text into what the mock can store and send back.

Python's ``json`` accepts two things that would fail much later, deep in a handler: text nested so deep
that decoding overflows the stack, and a ``\\ud800``-style escape that leaves a lone surrogate in a
string (valid JSON, but no UTF-8 can hold it: SQLite and every response would refuse it). Both are the
client's mistake, so both are refused here, where the body is read, with a message saying what is wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MalformedJSONError", "parse_json"]

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class MalformedJSONError(ValueError):
    """The text is not JSON the mock can keep; the message names the problem."""


def parse_json(raw: bytes | str) -> Any:
    """``json.loads`` that raises only ``MalformedJSONError``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise MalformedJSONError("nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJSONError(str(exc)) from None
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if _SURROGATE_ESCAPE.search(data):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start:exc.end].encode("unicode_escape").decode("ascii")
            raise MalformedJSONError(f"a string holds a lone surrogate ({bad}), which is not text") from None
        except RecursionError:
            raise MalformedJSONError("nested too deeply") from None
    return value
