"""Prometheus metrics of the work manager, on a registry the caller passes in.

Rare events (failures, retries, dead letters) are ordinary prometheus-client counters. The
per-record ones (processed, handler latency) would cost a lock per record that way, so each
worker keeps plain counts in a ``LatencyBuckets`` it alone writes, and a collector sums them
when Prometheus scrapes. Gauges (in flight, lag) are read from the manager at scrape time
(``ScrapeReadings``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from turnout.agent.per_registry import PerRegistry

#: Handler latency buckets in seconds: sub-millisecond no-op handlers up to the one-minute
#: default ``task_timeout``.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
)  # fmt: skip


class LatencyBuckets:
    """One writer's histogram counts; read (racily, which a scrape tolerates) by the collector."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


@dataclass(frozen=True, slots=True)
class ScrapeReadings:
    """What the collector reads from the manager at scrape time."""

    processed: dict[str, int]
    in_flight: dict[tuple[str, int], int]
    lag: dict[tuple[str, int], int]
    abandoned: int
    paused: bool


class WorkMetrics:
    """The work manager's metrics on one registry. A registry has one set
    (``for_registry``): an agent that replaces its manager (new processing settings) keeps
    its counters, and the scrape reads the manager attached last."""

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> WorkMetrics:
        return _PER_REGISTRY(registry)

    def __init__(self, registry: CollectorRegistry, namespace: str = "turnout_work") -> None:
        self.failed = Counter(
            "failed_attempts",
            "Handler attempts that raised or timed out.",
            ["topic"],
            namespace=namespace,
            registry=registry,
        )
        self.retried = Counter(
            "retries",
            "Retries scheduled after a failed attempt.",
            ["topic"],
            namespace=namespace,
            registry=registry,
        )
        self.exhausted = Counter(
            "exhausted",
            "Records whose attempts were used up (or that failed permanently), by decision.",
            ["topic", "decision"],
            namespace=namespace,
            registry=registry,
        )
        self.dead_lettered = Counter(
            "dead_lettered",
            "Records the dead-letter topic acknowledged.",
            ["topic"],
            namespace=namespace,
            registry=registry,
        )
        self.dead_letter_errors = Counter(
            "dead_letter_errors",
            "Dead-letter produces that failed; the record is held, not committed.",
            ["topic"],
            namespace=namespace,
            registry=registry,
        )
        self.late_results = Counter(
            "late_results",
            "Results of timed-out attempts that arrived later and were discarded.",
            namespace=namespace,
            registry=registry,
        )
        self.escalations = Counter(
            "escalations",
            "Times failures passed retry_threshold within retry_window, by action taken.",
            ["action"],
            namespace=namespace,
            registry=registry,
        )
        self._namespace = namespace
        self._registry = registry
        self._collector: _ScrapeCollector | None = None

    def attach(
        self, readings: Callable[[], ScrapeReadings], latency: Callable[[], list[LatencyBuckets]]
    ) -> None:
        """Read the gauges and the latency from these (a manager's) at scrape time; a
        later attach replaces an earlier one."""
        collector = self._collector
        if collector is None:
            self._collector = _ScrapeCollector(self._namespace, readings, latency)
            self._registry.register(self._collector)
        else:
            collector.read_from(readings, latency)


_PER_REGISTRY = PerRegistry(WorkMetrics)


class _ScrapeCollector(Collector):
    def __init__(
        self,
        namespace: str,
        readings: Callable[[], ScrapeReadings],
        latency: Callable[[], list[LatencyBuckets]],
    ) -> None:
        self._ns = namespace
        self._readings = readings
        self._latency = latency
        #: Readings of the managers replaced: their processed counts only.
        self._before: list[Callable[[], ScrapeReadings]] = []

    def read_from(
        self, readings: Callable[[], ScrapeReadings], latency: Callable[[], list[LatencyBuckets]]
    ) -> None:
        """Gauges from ``readings`` from now on; the processed counts of the managers read
        before are still added (a counter must not go down when a manager is replaced)."""
        self._before.append(self._readings)
        self._readings = readings
        self._latency = latency

    def describe(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        return self._families(None, [])

    def collect(self) -> Iterable[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        return self._families(self._readings(), self._latency())

    def _families(
        self, readings: ScrapeReadings | None, latency: list[LatencyBuckets]
    ) -> list[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        ns = self._ns
        processed = CounterMetricFamily(
            f"{ns}_processed", "Records completed by a successful handler call.", labels=["topic"]
        )
        in_flight = GaugeMetricFamily(
            f"{ns}_in_flight",
            "Records accepted and not finished (queued, running, retrying, dead-lettering).",
            labels=["topic", "partition"],
        )
        lag = GaugeMetricFamily(
            f"{ns}_lag",
            "Records between the commit point and the partition's high watermark.",
            labels=["topic", "partition"],
        )
        abandoned = GaugeMetricFamily(
            f"{ns}_abandoned_handlers",
            "Worker threads still inside a timed-out handler call (threads cannot be killed).",
        )
        paused = GaugeMetricFamily(
            f"{ns}_breaker_open", "1 while the circuit breaker pauses all consumption."
        )
        counts = [0] * (len(LATENCY_BUCKETS) + 1)
        total = 0.0
        for buckets in latency:
            for i, n in enumerate(buckets.counts):
                counts[i] += n
            total += buckets.total
        cumulative: list[tuple[str, float]] = []
        running = 0
        for bound, n in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
            running += n
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
        histogram = HistogramMetricFamily(
            f"{ns}_handler_latency_seconds",
            "Duration of handler attempts.",
            buckets=cumulative,
            sum_value=total,
        )
        if readings is not None:
            totals = dict(readings.processed)
            for earlier in self._before:
                for topic, n in earlier().processed.items():
                    totals[topic] = totals.get(topic, 0) + n
            for topic, n in totals.items():
                processed.add_metric([topic], n)
            for (topic, partition), n in readings.in_flight.items():
                in_flight.add_metric([topic, str(partition)], n)
            for (topic, partition), n in readings.lag.items():
                lag.add_metric([topic, str(partition)], n)
            abandoned.add_metric([], readings.abandoned)
            paused.add_metric([], 1.0 if readings.paused else 0.0)
        return [processed, in_flight, lag, abandoned, paused, histogram]
