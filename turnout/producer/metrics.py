"""The producer's counts, and their Prometheus export.

The per-message path cannot afford a prometheus_client call (each ``inc`` or
``observe`` takes a lock, a sizeable share of a produce), nor even a counter of its own,
so the counts are plain numbers, read by a collector at scrape time:

- ``acked``, ``failed`` and the latency histogram (a sample of the acknowledgements:
  see ``ProducerConfig.latency_sample_every``) are written by delivery reports, which
  the producer serves one thread at a time (its serving turn), so they have one writer
  at a time and need no lock;
- ``sent`` (messages accepted into the queue) is not counted at all: it is ``acked +
  failed + queue depth``, read while holding the serving turn, when no report is
  half-served and every accepted message is in exactly one of the three. (A produce
  call librdkafka is refusing at that instant may be in the depth for a moment, so the
  reading is kept monotonic: it never goes back below a value it reported.)
- ``queue_full`` (produce calls that found the queue full, and then waited or raised)
  and ``rejected`` (produce calls refused: serialization, librdkafka refusals) are
  rare, and kept under a lock.

Several producers may share a registry: each registry gets one collector, and every
producer is a ``producer`` label on its families (its name must be unique there).
"""

from __future__ import annotations

import itertools
import threading
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

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
#: How long a reading waits for the serving turn. The poller holds it for one slice at a
#: time (milliseconds); a transactional commit may hold it longer, and then the reading
#: reports the last consistent ``sent`` rather than hold up a scrape.
READ_WAIT_S = 1.0

#: Enters a moment when no delivery report is being served; yields whether it got one.
Quiet = Callable[[float], AbstractContextManager[bool]]


def _always_quiet(_wait_s: float) -> AbstractContextManager[bool]:
    return nullcontext(True)


@dataclass(frozen=True)
class StatsSnapshot:
    """One producer's counts at one moment."""

    sent: int
    acked: int
    failed: dict[str, int]
    rejected: dict[str, int]
    queue_full: int
    queue_depth: int
    #: Per bucket of DELIVERY_LATENCY_BUCKETS, and one past the last (not cumulative).
    latency_counts: tuple[int, ...]
    latency_sum_s: float

    @property
    def latency_count(self) -> int:
        return sum(self.latency_counts)


class DeliveryStats:
    """One producer's counts. See the module docstring for who writes what.

    ``queue_depth`` counts the messages accepted whose report is not served yet;
    ``quiet`` is the producer's serving turn (the default suits counts with no server).
    """

    def __init__(self, queue_depth: Callable[[], int], quiet: Quiet = _always_quiet) -> None:
        self.acked = 0
        self.failed: dict[str, int] = {}
        self.latency_counts = [0] * (len(DELIVERY_LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self._queue_depth = queue_depth
        self._quiet = quiet
        self._lock = threading.Lock()
        self._rejected: dict[str, int] = {}
        self._queue_full = 0
        self._sent = 0

    def observe_latency(self, latency_s: float) -> None:
        """One sample of delivery latency (called while holding the serving turn)."""
        self.latency_counts[bisect_left(DELIVERY_LATENCY_BUCKETS, latency_s)] += 1
        self.latency_sum += latency_s

    def record_failure(self, error_name: str) -> None:
        """A delivery report of failure (called while holding the serving turn)."""
        self.failed[error_name] = self.failed.get(error_name, 0) + 1

    def record_queue_full(self) -> None:
        with self._lock:
            self._queue_full += 1

    def record_rejection(self, reason: str) -> None:
        """A produce call that was refused: nothing was queued."""
        with self._lock:
            self._rejected[reason] = self._rejected.get(reason, 0) + 1

    def snapshot(self) -> StatsSnapshot:
        """The counts, read while no report is being served (if that comes in time)."""
        with self._quiet(READ_WAIT_S) as quiet:
            acked = self.acked
            failed = dict(self.failed)
            depth = self._queue_depth()
            latency_counts = tuple(self.latency_counts)
            latency_sum = self.latency_sum
        with self._lock:
            if quiet:
                self._sent = max(self._sent, acked + sum(failed.values()) + depth)
            return StatsSnapshot(
                sent=self._sent,
                acked=acked,
                failed=failed,
                rejected=dict(self._rejected),
                queue_full=self._queue_full,
                queue_depth=depth,
                latency_counts=latency_counts,
                latency_sum_s=latency_sum,
            )


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
        "From produce to the acknowledgement's delivery report (one acknowledgement "
        "in every latency_sample_every)",
        labels=["producer"],
    )
    for name, stats in sorted(producers.items()):
        now = stats.snapshot()
        sent.add_metric([name], now.sent)
        acked.add_metric([name], now.acked)
        for error, count in sorted(now.failed.items()):
            failed.add_metric([name, error], count)
        for reason, count in sorted(now.rejected.items()):
            rejected.add_metric([name, reason], count)
        queue_full.add_metric([name], now.queue_full)
        depth.add_metric([name], now.queue_depth)
        cumulative = list(itertools.accumulate(now.latency_counts))
        buckets = [
            (str(bound), count)
            for bound, count in zip(DELIVERY_LATENCY_BUCKETS, cumulative, strict=False)
        ]
        buckets.append(("+Inf", cumulative[-1]))
        latency.add_metric([name], buckets, now.latency_sum_s)
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
