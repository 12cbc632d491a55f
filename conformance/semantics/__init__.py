"""Layer 2: Flowise semantics, hand-written pytest modules per area."""

from __future__ import annotations
