"""The agent's Prometheus metrics, on a registry of its own.

Each agent gets its own ``CollectorRegistry`` so several agents in one process (tests,
the benchmark, an app consuming two deployments) never clash on metric names. The
counters are kept in a plain dict, added to by counter sources kept elsewhere (the work
manager counts the records it completes), and read by both ``Agent.status()`` (the
status znode) and the Prometheus registry at each scrape (``_Counters``): the two always
show the same counts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from turnout.agent.rate_window import RateWindow

#: Handoffs and commits on one machine take milliseconds; a 4-10 s ZooKeeper session
#: bounds takeover after a crash, so buckets reach past it.
_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

COUNTERS = (
    "records_processed",
    "records_dropped",
    "handler_errors",
    "rebalances",
    "partitions_claimed",
    "partitions_released",
    "partitions_lost",
    "commits",
    "commit_failures",
    "stale_commits_refused",
    "fence_events",
    "sessions_lost",
    "settings_applied",
    "settings_refused",
    "consumer_renewals",
)


#: The processing rate in the status is measured over this much recent history: long
#: enough to smooth a bursty handler over several status refreshes, short enough that an
#: instance that stopped processing (a colour gone standby, a stalled handler) reads 0
#: within seconds.
RATE_WINDOW_S = 5.0


class AgentMetrics:
    def __init__(self, deployment: str, instance: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"deployment": deployment, "instance": instance}
        self._labels = labels
        self.owned_partitions = Gauge(
            "turnout_agent_owned_partitions",
            "Partitions this agent owns now",
            list(labels),
            registry=self.registry,
        ).labels(**labels)
        self.fenced = Gauge(
            "turnout_agent_fenced",
            "1 while the agent is fenced (no processing, no commits)",
            list(labels),
            registry=self.registry,
        ).labels(**labels)
        self.handoff_seconds = Histogram(
            "turnout_agent_handoff_seconds",
            "From a partition being assigned to this agent until it claimed it",
            list(labels),
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self.release_seconds = Histogram(
            "turnout_agent_release_seconds",
            "Drain, final commit and owner-node deletion of a released partition",
            list(labels),
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self.commit_seconds = Histogram(
            "turnout_agent_commit_seconds",
            "Latency of one offset commit call (all its partitions)",
            list(labels),
            buckets=_SECONDS_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self._lock = threading.Lock()
        self._values: dict[str, float] = dict.fromkeys(COUNTERS, 0.0)
        self._sources: list[Callable[[], Mapping[str, float]]] = []
        self._processed_rate = RateWindow(RATE_WINDOW_S)
        self.registry.register(_Counters(self.counters, labels))

    def inc(self, name: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[name] += amount

    def add_counter_source(self, source: Callable[[], Mapping[str, float]]) -> None:
        """Counters kept elsewhere (a dispatcher's own) that the status should show too.

        Their values are added to the agent's own counters of the same name.
        """
        with self._lock:
            self._sources.append(source)

    def counters(self) -> dict[str, float]:
        """Every counter: the agent's own counts and its counter sources' added up."""
        with self._lock:
            values = dict(self._values)
            sources = list(self._sources)
        for source in sources:
            for name, value in source().items():
                values[name] = values.get(name, 0.0) + value
        return values

    def snapshot(self) -> dict[str, float]:
        """Every counter, plus ``rate_per_s``: records processed per second recently."""
        values = self.counters()
        values["rate_per_s"] = self._rate(values["records_processed"])
        return values

    def _rate(self, processed: float) -> float:
        with self._lock:
            return round(self._processed_rate.sample(time.monotonic(), processed), 2)


class _Counters(Collector):
    """The agent's counters as Prometheus counters (``turnout_agent_<name>_total``), read
    from ``AgentMetrics.counters`` at each scrape."""

    def __init__(self, read: Callable[[], Mapping[str, float]], labels: Mapping[str, str]) -> None:
        self._read = read
        self._labels = labels

    def describe(self) -> Iterator[CounterMetricFamily]:
        for name in COUNTERS:
            yield self._family(name)

    def collect(self) -> Iterator[CounterMetricFamily]:
        values = self._read()
        for name in COUNTERS:
            family = self._family(name)
            family.add_metric(list(self._labels.values()), values.get(name, 0.0))
            yield family

    def _family(self, name: str) -> CounterMetricFamily:
        return CounterMetricFamily(
            f"turnout_agent_{name}",
            name.replace("_", " ").capitalize(),
            labels=list(self._labels),
        )
