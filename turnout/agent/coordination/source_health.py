"""Whether the agent's Kafka consumer has lost a cluster that is still there.

librdkafka reconnects by itself after a broker stall, and the agent only reports the
requests that failed meanwhile. A consumer has been seen not to: after its broker's
controller stalled for seconds, it answered every metadata request with ``Local: Broker
transport failure`` for minutes and fetched nothing, while a new client reached the same
broker at once (docs/performance.md). Waiting cannot end that, so the agent counts its
consumer's failed metadata reads and warm-ups (one every ``METADATA_POLL_INTERVAL_S`` at
most), and after ``RENEW_AFTER_FAILURES`` in a row asks a new client (``KafkaSource.
cluster_answers``) whether the cluster answers:

    healthy ──a read fails──▶ failing (1)
    failing (n) ──a read succeeds──▶ healthy
    failing (n) ──a read fails, n + 1 < RENEW_AFTER_FAILURES──▶ failing (n + 1)
    failing (n) ──a read fails, n + 1 = RENEW_AFTER_FAILURES──▶ probe: a new client asks
        ├─ it answers (our consumer is cut off, the cluster is not) ──▶ renew: release
        │  everything held (drain, final commit, owner nodes deleted), close the
        │  consumer, open a new one and claim again at the committed offsets, as a change
        │  of group does; nothing is lost or repeated ──▶ healthy
        └─ it fails too (the cluster is down: a new consumer would not help) ──▶ failing
           (0): probe again after as many failures

Every probe's outcome is reported (status error, log) and a renewal counted
(``turnout_agent_consumer_renewals_total``).
"""

from __future__ import annotations

#: Failed metadata reads or warm-ups in a row before a new client is asked whether the
#: cluster answers. With one read every ``METADATA_POLL_INTERVAL_S`` (5 s) that is at
#: least 10 s of failures: a broker restart or a leader election ends sooner, and the
#: consumer recovers from those by itself.
RENEW_AFTER_FAILURES = 3


class SourceHealth:
    """The count of the consumer's failed requests in a row (see the module)."""

    def __init__(self) -> None:
        self._failures = 0

    def succeeded(self) -> None:
        self._failures = 0

    def failed(self) -> bool:
        """Count a failure; True when a probe is due (the count starts again)."""
        self._failures += 1
        if self._failures < RENEW_AFTER_FAILURES:
            return False
        self._failures = 0
        return True
