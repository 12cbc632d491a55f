"""Pure checks over bytes, headers and bodies; each returns the problems it found (empty: fine)."""

from __future__ import annotations
