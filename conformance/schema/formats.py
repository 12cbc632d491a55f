"""String formats the spec defines that schemathesis does not know, taught to it for one run.

The spec marks JSON-string columns (`flowData`, `chatbotConfig`, a tool's `schema`, ...) with
`format: json-string`: a string that `JSON.parse` accepts (`json-object-string`: one holding an object,
for multipart fields that carry an object as text). Without a generator for it, schemathesis
draws arbitrary text for "valid" requests and then blames the server for refusing them. The
format is registered only while a run lasts, like the suite's checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["registered_formats"]


def _json_values():  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=12)
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
        max_leaves=6,
    )


def _json_text():  # type: ignore[no-untyped-def]
    return _json_values().map(lambda value: json.dumps(value, ensure_ascii=False))


def _json_object_text():  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    objects = st.dictionaries(st.text(max_size=8), _json_values(), max_size=3)
    return objects.map(lambda value: json.dumps(value, ensure_ascii=False))


def _api_key_text():  # type: ignore[no-untyped-def]
    """`api-key`: a key as Flowise makes it, `randomBytes(32).toString('base64url')` (utils/apiKey.ts)."""
    from hypothesis import strategies as st

    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return st.text(alphabet=alphabet, min_size=1, max_size=64)


#: The spec's own string formats and their generators.
SPEC_FORMATS = {"json-string": _json_text, "json-object-string": _json_object_text, "api-key": _api_key_text}


@contextmanager
def registered_formats() -> Iterator[list[str]]:
    import schemathesis
    from schemathesis.specs.openapi.formats import STRING_FORMATS, unregister_string_format

    added = []
    try:
        for name, strategy in SPEC_FORMATS.items():
            if name not in STRING_FORMATS:
                schemathesis.openapi.format(name, strategy())
                added.append(name)
        yield added
    finally:
        for name in added:
            unregister_string_format(name)
