"""`python -m load` is `flowise-load`."""

from __future__ import annotations

import sys

from load.cli import main

sys.exit(main())
