"""Per-chatflow rate limits from ``apiConfig.rateLimit``, on prediction and vector upsert.

Flowise uses express-rate-limit (fixed window, in memory, keyed by client IP) and answers 429 with the
chatflow's ``limitMsg`` as text/html plus the legacy ``X-RateLimit-*`` headers and ``Retry-After``. The
window arithmetic comes from the ``limits`` library. Unlike Flowise, the mock reads the chatflow's current
config on every request, so a limit set at creation applies at once (Flowise waits for a PUT or restart:
docs/limits.md#rate-limits).
"""

from __future__ import annotations

import math
import time
from typing import Any

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from mockserver.errors import TextError
from mockserver.store.db import json_object

__all__ = ["RateLimits", "client_ip", "limit_config"]


def client_ip(peer: str, forwarded_for: str | None, number_of_proxies: int) -> str:
    """The client's address as express computes ``req.ip`` with ``trust proxy`` set to a hop count.

    Flowise sets ``trust proxy`` only when ``NUMBER_OF_PROXIES`` is above 0; with 0 the peer is the
    client, whatever ``X-Forwarded-For`` claims (so rotating it cannot dodge a rate limit). With n, the
    n-th address counted back from the peer is (the peer, then X-Forwarded-For from its right end)."""
    if number_of_proxies <= 0 or not forwarded_for:
        return peer
    hops = [peer, *reversed([a.strip() for a in forwarded_for.split(",") if a.strip()])]
    return hops[min(number_of_proxies, len(hops) - 1)]


def limit_config(chatflow: dict[str, Any]) -> tuple[int, int, str] | None:
    """``(limitMax, limitDuration seconds, limitMsg)`` when the chatflow has an active limit."""
    rate: object = json_object(chatflow.get("apiConfig")).get("rateLimit") or {}
    if not isinstance(rate, dict) or rate.get("status") in (False, "false"):
        return None
    try:
        # a missing value (None) and 0 alike are no limit: see the check below
        limit_max, duration = int(rate.get("limitMax") or 0), int(rate.get("limitDuration") or 0)
    except (TypeError, ValueError):
        return None
    message = str(rate.get("limitMsg") or "")
    if limit_max <= 0 or duration <= 0 or not message:
        return None
    return limit_max, duration, message


class RateLimits:
    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.limiter = FixedWindowRateLimiter(self.storage)

    def reset(self) -> None:
        self.storage.reset()

    def hit(self, chatflow: dict[str, Any], client_ip: str) -> dict[str, str]:
        """Count one request; return the headers to send, or raise the 429 ``TextError``."""
        config = limit_config(chatflow)
        if config is None:
            return {}
        limit_max, duration, message = config
        item = RateLimitItemPerSecond(limit_max, duration)
        keys = (str(chatflow["id"]), f"{limit_max}/{duration}", client_ip)
        allowed = self.limiter.hit(item, *keys)
        stats = self.limiter.get_window_stats(item, *keys)
        reset_at = math.ceil(stats.reset_time)
        headers = {
            "X-RateLimit-Limit": str(limit_max),
            "X-RateLimit-Remaining": str(max(stats.remaining, 0)),
            "X-RateLimit-Reset": str(reset_at),
        }
        if not allowed:
            headers["Retry-After"] = str(max(1, math.ceil(stats.reset_time - time.time())))
            raise TextError(429, message, headers=headers)
        return headers
