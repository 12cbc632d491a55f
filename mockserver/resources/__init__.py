"""Handlers, one module per resource family; importing this package registers them all.

Every module in this package is imported, so a new family needs no list to update; ``check_bindings``
then proves at startup that the spec's operations and the registered handlers match one to one.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
