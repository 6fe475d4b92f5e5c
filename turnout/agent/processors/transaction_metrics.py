"""Exactly-once processors' transactions in the agent's Prometheus registry.

One set per registry (``for_registry``): the agent replaces its runner with each
processing-settings version, and the counters carry on across them. A transaction is
counted once as begun, and once as it ends: committed, aborted, or fenced (dropped
because another producer took the transactional id over; never committed).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from turnout.agent.per_registry import PerRegistry

#: ``commit_transaction`` waits for every output's acknowledgement, then writes the
#: commit markers to every output partition and the offsets: milliseconds on a healthy
#: cluster, up to the transactional call timeout (30 s) when it is not.
COMMIT_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                          1.0, 2.5, 5.0, 30.0)  # fmt: skip


class TransactionMetrics:
    """The transaction counters and commit latency of one registry (see the module)."""

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> TransactionMetrics:
        return _PER_REGISTRY(registry)

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, documentation: str) -> Counter:
            return Counter(
                f"turnout_processor_transactions_{name}", documentation, registry=registry
            )

        self.begun = counter("begun", "Transactions begun")
        self.committed = counter("committed", "Transactions committed")
        self.aborted = counter("aborted", "Transactions aborted (a failed run, retried)")
        self.fenced = counter(
            "fenced", "Transactions dropped because a newer owner fenced the producer"
        )
        self.commit_seconds = Histogram(
            "turnout_processor_transaction_commit_seconds",
            "Latency of commit_transaction (acknowledgements, markers and offsets)",
            buckets=COMMIT_SECONDS_BUCKETS,
            registry=registry,
        )


_PER_REGISTRY = PerRegistry(TransactionMetrics)
