"""The seam between the consume loop (ownership, fetching, commits) and the work it feeds.

The consume loop owns partitions, fetches records and commits; a ``Dispatcher`` runs the
user's handler on them and says, per partition, up to where everything is complete. The
agent's coordination core ships a strictly sequential dispatcher; the work manager
(ordering modes, retries, dead letters) is another implementation of the same protocol.

Contract:
- ``submit`` / ``submit_run`` never block. Back-pressure: ``wants_more(tp) is False``
  makes the loop pause the Kafka partition, ``has_room() is False`` makes it stop polling;
  either way it asks again later, so memory stays flat however slow the handler.
- ``commit_point`` is the highest offset below which every record is complete (Kafka's
  "next offset to consume"), plus completed offsets above it (past the first gap).
- ``close_partition`` is the release path: stop starting new records of the partition,
  wait at most ``timeout_s`` for those in flight, and return the final commit point.
  Records fetched but not started are dropped: the next owner fetches them again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from turnout.agent.metrics import AgentMetrics
from turnout.agent.records import Record
from turnout.agent.warm_standby import WarmStandby
from turnout.protocol.models import Role
from turnout.protocol.partitions import PartitionId

#: How often a waiting worker re-checks the gate. Bounds how long a lifted fence or
#: resume takes to restart processing.
GATE_RECHECK_S = 0.02

Handler = Callable[[Record], object]


def _not_known(_tp: PartitionId) -> int | None:
    return None


def _unreported(_message: str) -> None:
    return None


def _no_role() -> Role | None:
    return None


@dataclass(frozen=True)
class KafkaGroup:
    """The agent's consumer group as an exactly-once processor needs it."""

    deployment: str
    #: The group of the binding held now (None: none).
    group: Callable[[], str | None]
    #: ``Consumer.consumer_group_metadata()`` of that group, for
    #: ``send_offsets_to_transaction``.
    metadata: Callable[[], object]
    #: The group's committed offset of a partition (None: none stored), read stably
    #: (transactional offsets still pending are waited for).
    committed: Callable[[PartitionId], int | None]
    #: How long the agent's ownership outlives a lost contact at most (the ZooKeeper
    #: session less the fence margin): a transaction's timeout must stay inside it.
    lease_s: float
    #: Whether the agent keeps its offsets in Kafka (the transactions commit them there).
    offsets_in_kafka: bool
    #: The epoch the agent's ownership of a partition began at (None: not held, or not
    #: known): a partition kept across a rebalance is re-stamped with the new epoch, and
    #: its records carry it, but its ownership (and its transactional producer) go on.
    ownership_began: Callable[[PartitionId], int | None] = _not_known


@dataclass(frozen=True)
class DispatchContext:
    """What a dispatcher factory gets from the agent."""

    handler: Handler
    #: The agent's gate: False while the partition may not be processed (not owned at
    #: its epoch, fenced, paused, releasing). Ask before starting each record (or batch).
    may_start: Callable[[PartitionId], bool]
    instance: str
    metrics: AgentMetrics
    #: The role of the binding whose partitions the agent holds now (None before it
    #: took one up): a processor writes to that role's output topics. The agent releases
    #: every partition before it changes binding, so a record is processed under the role
    #: it was fetched under.
    role: Callable[[], Role | None] = _no_role
    #: The consumer group, for exactly-once processors (None: an agent without Kafka).
    kafka_group: KafkaGroup | None = None
    #: Where a dispatcher registers what it can prepare while the agent is a warm standby.
    warm_standby: WarmStandby = field(default_factory=WarmStandby)
    #: Shows a lasting condition of the work in the agent's status (its errors) and log:
    #: a partition whose commits a failure decision holds, say. Any thread may call it.
    report_error: Callable[[str], None] = _unreported


@dataclass(frozen=True, slots=True)
class CommitPoint:
    #: Every offset below this is complete; the value committed to Kafka.
    next_offset: int
    #: Offsets >= next_offset already complete (past the first gap), ascending.
    done_beyond: tuple[int, ...] = ()


class Dispatcher(Protocol):
    def open_partition(self, tp: PartitionId, next_offset: int, skip: frozenset[int]) -> None:
        """Start taking ``tp``'s records from ``next_offset``; offsets in ``skip`` were
        completed by a predecessor and complete without running the handler."""

    def submit(self, record: Record) -> None:
        """Accept a fetched record of an open partition. Never blocks."""

    def submit_run(self, tp: PartitionId, records: Sequence[Record]) -> None:
        """``submit`` each of ``records`` (all of ``tp``, in ascending offsets, each past
        the ones submitted before): the consume loop's path, so that locking, counting and
        waking a worker cost once per run of a partition rather than once per record.
        The consume loop passes a ``RecordRun``, whose records are built only when read.
        The dispatcher owns the sequence from now on."""

    def set_high_watermark(self, tp: PartitionId, high_watermark: int) -> None:
        """The partition's high watermark as last fetched, for the lag gauge (a dispatcher
        without one ignores it)."""

    def wants_more(self, tp: PartitionId) -> bool:
        """False while ``tp`` may not take more records (at its own in-flight bound, or the
        dispatcher stopped): the loop pauses the partition's fetch."""

    def has_room(self) -> bool:
        """False while the dispatcher as a whole is at its in-flight bound: the loop then
        stops polling, and what the Kafka client fetched waits in its bounded queue. (Not
        a pause of every partition: a pause drops the client's prefetched records, which a
        resume must fetch again; at full speed that cost more than the work itself.)"""

    def wait_for_room(self, timeout_s: float) -> None:
        """Block until ``has_room()`` may be True again, or ``timeout_s`` passed."""

    def commit_point(self, tp: PartitionId) -> CommitPoint | None:
        """Where ``tp`` may be committed now; None if nothing new is complete."""

    def close_partition(self, tp: PartitionId, timeout_s: float) -> CommitPoint | None:
        """Stop ``tp``, wait at most ``timeout_s`` for in-flight work, return the final point."""

    def stop_reason(self) -> str | None:
        """Set when the work asked the agent to stop (e.g. a *_AND_STOP failure decision)."""

    def close(self, timeout_s: float) -> None:
        """Stop every worker; bounded by ``timeout_s``."""


#: Poll Kafka once (bounded by the poll timeout) and submit what came through
#: ``submit_run``; True if anything came. Safe to call from any one thread at a time.
Fetch = Callable[[], bool]


@runtime_checkable
class FetchingDispatcher(Protocol):
    """A dispatcher that can also do the consume loop's fetching on its own threads: the
    thread that fetched a run then runs it too, instead of handing it to another thread
    under the one GIL (two thread switches per poll, and records kept alive meanwhile)."""

    def take_over_fetching(self, fetch: Fetch) -> bool:
        """Call ``fetch`` from now on whenever work is wanted; False if it cannot (the
        agent then goes on fetching on its own thread)."""


@runtime_checkable
class CommitsOwnOffsets(Protocol):
    """A dispatcher whose work commits its partitions' offsets itself (an exactly-once
    processor's transactions): the agent then records its commit points as committed
    without writing them, so that no offset of such a partition is ever written outside
    a transaction (a write there would not be fenced)."""

    def commits_offsets(self) -> bool:
        """True while the work commits the offsets."""


@runtime_checkable
class RoomInRecords(Protocol):
    """A dispatcher that can say how many more records fit under its in-flight bounds (in
    records and in bytes): the consume loop then polls no more than that, so one poll of
    large records does not overshoot a byte bound by a whole poll."""

    def room_in_records(self) -> int:
        """Records that fit now (at least 1: a poll always makes progress)."""


DispatcherFactory = Callable[[DispatchContext], Dispatcher]
