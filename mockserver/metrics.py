"""Prometheus metrics with Flowise's names and labels (docs/limits.md#metrics), one registry per app.

Flowise (prom-client) exposes ``chatflow_created{status="success",app="FlowiseAI"}``: no ``_total``
suffix and an ``app`` label on every series. prometheus_client always writes a counter's HELP/TYPE lines as
``..._total``, which would split each family in two for a scraper, so the resource counters' few lines are
written here under Flowise's exact names; the request metrics are prometheus_client's own. A registry per app (not the global one) keeps two mocks
in one test process apart. ``GET /api/v1/metrics`` renders it, behind auth like Flowise 3.0.13+.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

__all__ = ["CONTENT_TYPE", "Metrics", "RESOURCE_COUNTERS"]

#: The text exposition format Flowise serves (prom-client 15), not prometheus_client's newer default.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
APP = "FlowiseAI"

#: Flowise's resource counters, each labelled status=success|failure.
RESOURCE_COUNTERS = (
    "chatflow_created", "agentflow_created", "assistant_created", "tool_created", "vector_upserted",
    "chatflow_prediction_internal", "chatflow_prediction_external", "agentflow_prediction_internal",
    "agentflow_prediction_external", "custom_mcp_server_created",
)

prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]


class _ResourceCounters:
    """Flowise's counters, rendered under their exact names (prom-client's text format)."""

    def __init__(self) -> None:
        self.tally: Tally[tuple[str, str]] = Tally()

    def render(self) -> Iterator[str]:
        for name in RESOURCE_COUNTERS:
            yield f"# HELP {name} Flowise counter {name}\n# TYPE {name} counter\n"
            for status in ("success", "failure"):
                yield f'{name}{{status="{status}",app="{APP}"}} {float(self.tally[(name, status)])}\n'


class Metrics:
    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry()
        self.resources = _ResourceCounters()
        Gauge("flowise_version_info", "Flowise version", ["version", "app"], registry=self.registry).labels(
            version=f"v{version}", app=APP).set(1)
        self.requests = Counter("http_requests", "HTTP requests", ["method", "route", "code", "app"],
                                registry=self.registry)
        self.duration = Histogram(
            "http_request_duration_ms", "HTTP request duration in milliseconds", ["method", "route", "code", "app"],
            buckets=(1, 5, 10, 25, 50, 100, 250, 500), registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def count(self, name: str, *, success: bool = True) -> None:
        """Increment one of Flowise's resource counters."""
        if name not in RESOURCE_COUNTERS:
            raise KeyError(f"unknown Flowise counter {name!r}")
        self.resources.tally[(name, "success" if success else "failure")] += 1

    def observe(self, method: str, route: str, code: int, millis: float) -> None:
        key = (method, route, code)
        children = self._children.get(key)
        if children is None:  # labels() costs a lock and a tuple build; a route's children are few and reused
            labels = (method, route, str(code), APP)
            children = self._children[key] = (self.requests.labels(*labels), self.duration.labels(*labels))
        children[0].inc()
        children[1].observe(millis)

    def render(self) -> bytes:
        return "".join(self.resources.render()).encode() + generate_latest(self.registry)
