"""Prometheus metrics with Flowise's names (flowise-reference.md §E), one registry per app.

A registry per app (not prometheus_client's global one) keeps two mocks in one test process apart.
``GET /api/v1/metrics`` renders it in the text exposition format, behind auth like Flowise 3.0.13+.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

#: Flowise's resource counters, each labelled status=success|failure.
RESOURCE_COUNTERS = (
    "chatflow_created", "agentflow_created", "assistant_created", "tool_created", "vector_upserted",
    "chatflow_prediction_internal", "chatflow_prediction_external", "agentflow_prediction_internal",
    "agentflow_prediction_external", "custom_mcp_server_created",
)


class Metrics:
    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"app": "FlowiseAI"}
        self.counters = {
            name: Counter(name, f"Flowise counter {name}", ["status"], registry=self.registry)
            for name in RESOURCE_COUNTERS
        }
        Gauge("flowise_version_info", "Flowise version", ["version"], registry=self.registry).labels(
            version=f"v{version}").set(1)
        self.requests = Counter("http_requests", "HTTP requests", ["method", "route", "code"], registry=self.registry)
        self.duration = Histogram(
            "http_request_duration_ms", "HTTP request duration in milliseconds", ["method", "route", "code"],
            buckets=(1, 5, 10, 25, 50, 100, 250, 500), registry=self.registry,
        )
        self._labels = labels

    def count(self, name: str, *, success: bool = True) -> None:
        """Increment one of Flowise's resource counters."""
        self.counters[name].labels(status="success" if success else "failure").inc()

    def observe(self, method: str, route: str, code: int, millis: float) -> None:
        self.requests.labels(method, route, str(code)).inc()
        self.duration.labels(method, route, str(code)).observe(millis)

    def render(self) -> bytes:
        return generate_latest(self.registry)
