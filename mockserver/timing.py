"""The fake LLM's pace: time to first token, inter-token latency, chunking, and a cap on generations.

Deadlines are absolute: chunk ``i`` is due at ``start + ttft + sum(itl[0..i))`` on the event loop's clock,
and the writer sleeps until that instant. Cumulative ``sleep(itl)`` calls would add each wake-up's lateness
to every later token; with 200+ concurrent streams that drift is what breaks a 10 % ITL budget.

Inter-token latency can be ``fixed``, ``uniform`` (between 0 and twice the mean) or ``lognormal`` (sigma
0.5, mu chosen so the mean equals ``itl_ms``); draws come from a ``random.Random`` seeded per request, so
a run is repeatable. ``fast`` (or both knobs at 0) removes every delay. Per-request headers
(``X-Mock-TTFT-Ms``, ``X-Mock-ITL-Ms``, ``X-Mock-Tokens-Per-Chunk``) override the settings; faults.py reads them.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from mockserver.settings import MockSettings

__all__ = ["GenerationSlots", "Timing", "chunk_tokens", "generation_slot", "sleep_until"]

_LOGNORMAL_SIGMA = 0.5


@dataclass(frozen=True)
class Timing:
    """One request's pace, in seconds."""

    ttft: float = 0.0
    itl: float = 0.0
    itl_dist: str = "fixed"
    tokens_per_chunk: int = 1

    @property
    def instant(self) -> bool:
        """No delay at all (``--fast``, or both knobs at 0): a generation takes no time."""
        return self.ttft <= 0 and self.itl <= 0

    @classmethod
    def from_settings(cls, settings: MockSettings) -> Timing:
        if settings.fast:
            return cls(0.0, 0.0, "fixed", settings.tokens_per_chunk)
        return cls(settings.ttft_ms / 1000.0, settings.itl_ms / 1000.0, settings.itl_dist, settings.tokens_per_chunk)

    def with_overrides(self, *, ttft_ms: float | None = None, itl_ms: float | None = None,
                       tokens_per_chunk: int | None = None) -> Timing:
        """A copy with the per-request values that were given."""
        changes: dict[str, Any] = {}
        if ttft_ms is not None:
            changes["ttft"] = ttft_ms / 1000.0
        if itl_ms is not None:
            changes["itl"] = itl_ms / 1000.0
        if tokens_per_chunk is not None:
            changes["tokens_per_chunk"] = tokens_per_chunk
        return replace(self, **changes) if changes else self

    def intervals(self, count: int, rng: random.Random) -> Iterator[float]:
        """``count`` inter-token gaps drawn from the distribution (mean ``itl``)."""
        for _ in range(count):
            if self.itl <= 0:
                yield 0.0
            elif self.itl_dist == "uniform":
                yield rng.uniform(0.0, 2.0 * self.itl)
            elif self.itl_dist == "lognormal":
                mu = math.log(self.itl) - _LOGNORMAL_SIGMA**2 / 2
                yield rng.lognormvariate(mu, _LOGNORMAL_SIGMA)
            else:
                yield self.itl

    def offsets(self, chunks: int, rng: random.Random) -> list[float]:
        """When each of ``chunks`` chunks is due, in seconds after generation starts."""
        if chunks <= 0:
            return []
        due = [self.ttft]
        for gap in self.intervals(chunks - 1, rng):
            due.append(due[-1] + gap)
        return due

    def total(self, chunks: int, rng: random.Random) -> float:
        """How long a whole (non-streamed) generation of ``chunks`` chunks takes."""
        offsets = self.offsets(chunks, rng)
        return offsets[-1] if offsets else self.ttft


def chunk_tokens(tokens: list[str], per_chunk: int) -> list[str]:
    """Group tokens into the strings sent as one ``token`` event each."""
    size = max(1, per_chunk)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


async def sleep_until(deadline: float) -> None:
    """Sleep until the loop clock reads ``deadline`` (no-op when it already has)."""
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


@dataclass
class GenerationSlots:
    """One app's ``--max-concurrent`` semaphore, made on first use and remade when the limit changes."""

    semaphore: asyncio.Semaphore | None = None
    limit: int | None = None


@asynccontextmanager
async def generation_slot(slots: GenerationSlots, limit: int | None) -> AsyncIterator[None]:
    """Hold one of ``limit`` generation slots (``--max-concurrent``); further generations queue here."""
    if not limit:
        yield
        return
    semaphore = slots.semaphore
    if semaphore is None or slots.limit != limit:
        semaphore = asyncio.Semaphore(limit)
        slots.semaphore = semaphore
        slots.limit = limit
    async with semaphore:
        yield
