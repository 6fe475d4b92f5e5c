"""Exactly-once's pure parts: the ``transactional.id`` of an input partition, and how
long and how large one transaction may grow.

The id is a pure function of the deployment, the LIVE binding's group and the input
partition, the same for every colour and instance: whoever claims the partition next
calls ``init_transactions`` with the id its predecessor used, which fences that
predecessor's producer and finishes or aborts its open transaction. A preview colour
consumes under its own group, so its ids (from the same function, with its own group)
never fence the live colour's. See docs/processors.md, "Exactly once".
"""

from __future__ import annotations

from dataclasses import dataclass

from turnout.protocol.partitions import PartitionId

#: The ids' common prefix: a cluster's transactional ids are one namespace, shared with
#: every other application; this names whose they are.
TRANSACTIONAL_ID_PREFIX = "turnout"

#: Input records one transaction may cover at most: bounds the work an abort throws
#: away (and the new owner re-reads) and the producer's buffered records, while large
#: enough that the commit's round trips (markers on every output partition, the offset
#: commit) are shared by many records.
MAX_TRANSACTION_RECORDS = 10_000
#: How long one transaction may stay open: bounds the latency a read_committed reader
#: sees (outputs are invisible until the commit) and the work an abort throws away.
MAX_TRANSACTION_S = 0.5
#: The share of the ownership lease (the ZooKeeper session less the fence margin) that
#: ``transaction.timeout.ms`` may use: a transaction the coordinator has not aborted on
#: its own must never outlive the ownership it was opened under, and the rest leaves the
#: commit's own round trips room inside the lease. It also caps each output's delivery
#: time (librdkafka refuses a record that could outlive its transaction), so it is no
#: smaller than it must be.
TRANSACTION_TIMEOUT_SHARE_OF_LEASE = 0.8
#: The broker refuses ``transaction.timeout.ms`` below this (its own floor).
MIN_TRANSACTION_TIMEOUT_MS = 1_000


def transactional_id(deployment: str, live_group: str, tp: PartitionId) -> str:
    """``turnout.<n>:<deployment>.<n>:<live group>.<n>:<topic>.<partition>``, each name
    prefixed by its length: names may contain ``.``, and without the lengths two different
    inputs could meet at one id (``a.b`` + ``c`` and ``a`` + ``b.c``), and fence each other."""
    topic, partition = tp
    if partition < 0:
        raise ValueError(f"partition must be >= 0, got {partition}")
    parts = (deployment, live_group, topic)
    for part in parts:
        if not part:
            raise ValueError("deployment, group and topic must not be empty")
    joined = ".".join(f"{len(part)}:{part}" for part in parts)
    return f"{TRANSACTIONAL_ID_PREFIX}.{joined}.{partition}"


@dataclass(frozen=True, slots=True)
class TransactionBounds:
    """When an open transaction must commit: at ``max_records`` inputs or ``max_s`` open."""

    max_records: int = MAX_TRANSACTION_RECORDS
    max_s: float = MAX_TRANSACTION_S

    def __post_init__(self) -> None:
        if self.max_records < 1 or self.max_s <= 0:
            raise ValueError("a transaction must allow at least one record and some time")

    def due(self, records: int, opened_at: float, now: float) -> bool:
        """Whether a transaction holding ``records`` inputs, opened at ``opened_at``, must
        commit now."""
        return records >= self.max_records or now - opened_at >= self.max_s


def transaction_timeout_ms(session_timeout_s: float, fence_margin_s: float) -> int:
    """``transaction.timeout.ms`` inside the ownership lease (see the constants); raises
    ``ValueError`` if the lease is too short for the broker's floor."""
    lease_s = session_timeout_s - fence_margin_s
    timeout_ms = int(lease_s * TRANSACTION_TIMEOUT_SHARE_OF_LEASE * 1000)
    if timeout_ms < MIN_TRANSACTION_TIMEOUT_MS:
        raise ValueError(
            f"an ownership lease of {lease_s:.1f} s leaves a transaction {timeout_ms} ms, "
            f"under the broker's floor of {MIN_TRANSACTION_TIMEOUT_MS} ms"
        )
    return timeout_ms
