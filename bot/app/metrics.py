"""Prometheus metrics of one server process, in a registry of its own (no global state).

>>> m = Metrics()
>>> m.deliveries.labels(forge="github", event="push", result="accepted").inc()
>>> b"fluxbot_webhook_deliveries_total" in m.render()
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Counters and histograms the server, the queue, the runner and the forges update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.deliveries = Counter(
            "fluxbot_webhook_deliveries",
            "Webhook deliveries by forge, event and result.",
            ["forge", "event", "result"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "fluxbot_webhook_delivery_seconds",
            "Time to answer a webhook delivery.",
            ["forge"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.jobs = Counter(
            "fluxbot_jobs", "Jobs run by kind and outcome.", ["kind", "outcome"], registry=r
        )
        self.job_seconds = Histogram(
            "fluxbot_job_seconds",
            "Job duration by kind.",
            ["kind"],
            registry=r,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.forge_requests = Counter(
            "fluxbot_forge_requests",
            "Forge API requests by forge and outcome (ok, not_modified, error, rate_limited).",
            ["forge", "outcome"],
            registry=r,
        )
        self.pull_requests = Counter(
            "fluxbot_pull_requests",
            "Update PRs by action (opened, updated, closed).",
            ["forge", "action"],
            registry=r,
        )
        self.queue_depth = Histogram(
            "fluxbot_queue_depth",
            "Jobs waiting when a job is enqueued.",
            registry=r,
            buckets=(0, 1, 2, 5, 10, 20, 50, 100, 500),
        )

    def watch_registry(self, counts: Callable[[], Mapping[str, int]]) -> None:
        """Export a registry client's own request counters as ``fluxbot_registry_requests``."""
        self.registry.register(_RegistryCollector(counts))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class _RegistryCollector(Collector):
    def __init__(self, counts: Callable[[], Mapping[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "fluxbot_registry_requests",
            "Container registry requests by kind (tags, manifest, token, ...).",
            labels=["kind"],
        )
        for kind, total in sorted(self._counts().items()):
            family.add_metric([str(kind)], float(total))
        yield family
