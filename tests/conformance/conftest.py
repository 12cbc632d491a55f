"""Shared helpers of the conformance tests: `fakeflowise` (a breakable Flowise look-alike) and
`conformance_harness` (run the suite in a subprocess). The project runs pytest in importlib mode,
where sibling modules are not importable by name, so this directory is put on `sys.path` once."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
