"""`python -m conformance.reference`: see cli.py."""

from __future__ import annotations

from conformance.reference.cli import main

raise SystemExit(main())
