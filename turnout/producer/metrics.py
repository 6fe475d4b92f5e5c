"""The producer's counts, and their Prometheus export.

The per-message path cannot afford a prometheus_client call (each ``inc`` or
``observe`` takes a lock, a sizeable share of a produce), so the counts are plain
numbers, read by a collector at scrape time:

- ``sent`` is bumped by whichever thread produces: a :class:`TicketCounter`, safe
  without a lock;
- ``acked``, ``failed`` and the latency histogram are written by delivery reports, which
  the producer serves one thread at a time (its serving turn), so they have one writer
  at a time and need no lock;
- ``queue_full`` (produce calls that found the queue full, and then waited or raised)
  is bumped by producing threads, a TicketCounter too;
- ``rejected`` (produce calls refused: serialization, librdkafka refusals) is rare, and
  kept under a lock.

A scrape reads while reports are served, so one scrape may see a report's ``acked``
before its latency: the counts are each exact, and consistent with each other at rest.

Several producers may share a registry: each registry gets one collector, and every
producer is a ``producer`` label on its families (its name must be unique there).
"""

from __future__ import annotations

import itertools
import threading
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

#: Delivery latency runs from under a millisecond (loopback, no linger) to the default
#: delivery timeout of five minutes, past which a message fails instead.
DELIVERY_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
)


class TicketCounter:
    """A counter any thread may bump without a lock, for the price of a ``+= 1``.

    Bumping is ``next(counter.tickets)``: one call into C on an ``itertools.count``, which
    the GIL runs whole, so concurrent bumps are never lost. It returns the ticket's
    number, which callers may use as a running count. A read takes a ticket too: reads
    are counted under a lock and subtracted.
    """

    def __init__(self) -> None:
        self.tickets = itertools.count()
        self._reads = 0
        self._lock = threading.Lock()

    def value(self) -> int:
        with self._lock:
            taken = next(self.tickets)
            self._reads += 1
            return taken - (self._reads - 1)


class DeliveryStats:
    """One producer's counts. See the module docstring for who writes what."""

    def __init__(self, queue_depth: Callable[[], int]) -> None:
        self.sent = TicketCounter()
        self.queue_full = TicketCounter()
        self.acked = 0
        self.failed: dict[str, int] = {}
        self.latency_counts = [0] * (len(DELIVERY_LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self._rejected: dict[str, int] = {}
        self._rejected_lock = threading.Lock()
        self._queue_depth = queue_depth

    def record_ack(self, latency_s: float | None) -> None:
        """A delivery report of success (called while holding the serving turn)."""
        self.acked += 1
        if latency_s is not None:
            self.latency_counts[bisect_left(DELIVERY_LATENCY_BUCKETS, latency_s)] += 1
            self.latency_sum += latency_s

    def record_failure(self, error_name: str) -> None:
        """A delivery report of failure (called while holding the serving turn)."""
        self.failed[error_name] = self.failed.get(error_name, 0) + 1

    def record_queue_full(self) -> None:
        next(self.queue_full.tickets)

    def record_rejection(self, reason: str) -> None:
        """A produce call that was refused: nothing was queued."""
        with self._rejected_lock:
            self._rejected[reason] = self._rejected.get(reason, 0) + 1

    def queue_depth(self) -> int:
        """Messages queued or in flight: produced, their delivery report not yet served."""
        return self._queue_depth()

    def rejected(self) -> dict[str, int]:
        with self._rejected_lock:
            return dict(self._rejected)

    def snapshot(self) -> dict[str, object]:
        """The counts as plain values (for status pages and tests)."""
        return {
            "sent": self.sent.value(),
            "acked": self.acked,
            "failed": dict(self.failed),
            "rejected": self.rejected(),
            "queue_full": self.queue_full.value(),
            "queue_depth": self.queue_depth(),
            "latency_count": sum(self.latency_counts),
            "latency_sum_s": self.latency_sum,
        }


class _ProducerCollector(Collector):
    """Every producer on one registry, each a ``producer`` label value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._producers: dict[str, DeliveryStats] = {}

    def add(self, name: str, stats: DeliveryStats) -> None:
        with self._lock:
            if name in self._producers:
                raise ValueError(
                    f"a producer named {name!r} already reports to this registry: "
                    "give each producer its own client_id (or name)"
                )
            self._producers[name] = stats

    def remove(self, name: str, stats: DeliveryStats) -> None:
        with self._lock:
            if self._producers.get(name) is stats:
                del self._producers[name]

    def describe(self) -> Iterable[Metric]:
        return list(_families({}))

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            producers = dict(self._producers)
        return list(_families(producers))


def _families(producers: dict[str, DeliveryStats]) -> Iterator[Metric]:
    sent = CounterMetricFamily(
        "turnout_producer_sent", "Messages accepted into the producer's queue", labels=["producer"]
    )
    acked = CounterMetricFamily(
        "turnout_producer_acked", "Messages acknowledged by Kafka", labels=["producer"]
    )
    failed = CounterMetricFamily(
        "turnout_producer_failed",
        "Messages whose delivery failed, by librdkafka error name",
        labels=["producer", "error"],
    )
    rejected = CounterMetricFamily(
        "turnout_producer_rejected",
        "Produce calls refused before anything was queued, by reason",
        labels=["producer", "reason"],
    )
    queue_full = CounterMetricFamily(
        "turnout_producer_queue_full",
        "Produce calls that found the queue full (then waited for room, or raised)",
        labels=["producer"],
    )
    depth = GaugeMetricFamily(
        "turnout_producer_queue_messages",
        "Messages queued or in flight, awaiting their delivery report",
        labels=["producer"],
    )
    latency = HistogramMetricFamily(
        "turnout_producer_delivery_latency_seconds",
        "From produce to the acknowledgement's delivery report",
        labels=["producer"],
    )
    for name, stats in sorted(producers.items()):
        sent.add_metric([name], stats.sent.value())
        acked.add_metric([name], stats.acked)
        for error, count in sorted(stats.failed.items()):
            failed.add_metric([name, error], count)
        for reason, count in sorted(stats.rejected().items()):
            rejected.add_metric([name, reason], count)
        queue_full.add_metric([name], stats.queue_full.value())
        depth.add_metric([name], stats.queue_depth())
        cumulative = list(itertools.accumulate(stats.latency_counts))
        buckets = [
            (str(bound), count)
            for bound, count in zip(DELIVERY_LATENCY_BUCKETS, cumulative, strict=False)
        ]
        buckets.append(("+Inf", cumulative[-1]))
        latency.add_metric([name], buckets, stats.latency_sum)
    yield from (sent, acked, failed, rejected, queue_full, depth, latency)


_collectors: weakref.WeakKeyDictionary[CollectorRegistry, _ProducerCollector] = (
    weakref.WeakKeyDictionary()
)
_collectors_lock = threading.Lock()


def report_to(registry: CollectorRegistry, name: str, stats: DeliveryStats) -> Callable[[], None]:
    """Export ``stats`` on ``registry`` under ``producer=name``; returns the undo."""
    with _collectors_lock:
        collector = _collectors.get(registry)
        if collector is None:
            collector = _ProducerCollector()
            registry.register(collector)
            _collectors[registry] = collector
    collector.add(name, stats)
    return lambda: collector.remove(name, stats)
