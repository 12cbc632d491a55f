"""schemathesis hooks for running it directly on the spec (``SCHEMATHESIS_HOOKS=conformance.schemathesis_hooks``).

They teach schemathesis the spec's own string formats (``json-string``, ``json-object-string``), which
flowise-conformance registers for its runs; without them schemathesis sends arbitrary text where the
spec asks for JSON and blames the server for refusing it.
"""

from __future__ import annotations

import schemathesis

from conformance.schema.formats import SPEC_FORMATS

for _name, _strategy in SPEC_FORMATS.items():
    schemathesis.openapi.format(_name, _strategy())
