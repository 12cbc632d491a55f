"""Ping, version and metrics: the endpoints monitors and the SDKs probe before anything else.

``/ping`` answers like Express's ``res.send('pong')`` (text/html, no database access), ``/version``
reports the version the mock impersonates (``--version``/``MOCK_VERSION``), and ``/metrics`` renders the
app's own Prometheus registry with Flowise's counter names, under prom-client's content type
(``text/plain; version=0.0.4``; prometheus_client's ``CONTENT_TYPE_LATEST`` is now 1.0.0, which
Flowise never sends).
"""

from __future__ import annotations

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.responses import Response

from mockserver.operations import Call, operation


@operation("pingServer")
async def ping_server(call: Call) -> Response:
    return Response("pong", media_type="text/html; charset=utf-8")


@operation("getVersion")
async def get_version(call: Call) -> dict[str, str]:
    return {"version": call.settings.version}


@operation("getMetrics")
async def get_metrics(call: Call) -> Response:
    return Response(call.state.metrics.render(), media_type=CONTENT_TYPE_PLAIN_0_0_4)
