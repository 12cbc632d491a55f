"""How the mock is served: uvicorn's settings, plus a deadline for request headers that uvicorn lacks.

uvicorn times out idle keep-alive connections but not a client that opens a connection and trickles its
headers for ever (slowloris): a thousand of those hold a thousand sockets. Here the headers of each
request must be in within ``header_timeout_s`` of the connection opening or of the previous response;
otherwise the connection is closed. The body has its own deadline (bodylimit.py).

``X-Forwarded-For`` is not trusted by uvicorn here (it trusts loopback peers by default): the mock reads
it itself, only with ``NUMBER_OF_PROXIES`` set, as Flowise does (ratelimit.client_ip).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import uvicorn

from mockserver.settings import MockSettings

__all__ = ["HeaderDeadlineProtocol", "build_server", "header_deadline_protocol", "set_header_timeout"]


class _HeaderDeadline:
    """Mixed into uvicorn's HTTP/1.1 protocols (both keep ``loop``, ``transport`` and ``cycle``)."""

    header_timeout_s = 10.0
    _header_timer: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._late)

    def _late(self) -> None:
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and not self.transport.is_closing():
            self.transport.close()


def header_deadline_protocol(timeout_s: float) -> type[asyncio.Protocol]:
    """uvicorn's fastest HTTP/1.1 protocol (httptools if installed, else h11), closing a connection whose
    next request's headers are late."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]
    return cast(type[asyncio.Protocol],
                type("HeaderDeadlineProtocol", (_HeaderDeadline, base), {"header_timeout_s": timeout_s}))


#: The protocol by import name, for servers uvicorn starts in other processes (``--workers``); each sets
#: its ``header_timeout_s`` from its settings.
HeaderDeadlineProtocol = header_deadline_protocol(10.0)


def set_header_timeout(seconds: float) -> None:
    """The header deadline of ``HeaderDeadlineProtocol`` (the one this process serves with)."""
    cast(type[_HeaderDeadline], HeaderDeadlineProtocol).header_timeout_s = seconds


def build_server(app: Any, settings: MockSettings, *, log_level: str = "warning") -> uvicorn.Server:
    """The uvicorn server for the mock ``app`` on ``settings.host:settings.port``."""
    return uvicorn.Server(uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=log_level, access_log=False,
        timeout_graceful_shutdown=2, proxy_headers=False, http=header_deadline_protocol(settings.header_timeout_s)))
