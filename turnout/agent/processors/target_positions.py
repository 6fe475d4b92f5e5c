"""Where an exactly-once processor with an ``OutputTarget`` (the mirror) keeps its input
positions: on the TARGET cluster, committed in the same transactions as its outputs.

A transaction on the target cluster cannot commit a source-cluster group's offsets, so
the position of an input partition ``(topic, p)`` is stored on the target, in the group
``positions_group(live group)`` (``turnout.positions.<the LIVE binding's group>``), keyed
by the partition its outputs go to: ``(routes.topic(topic, LIVE), p)``, the mirror's
target topic and the same partition number. The committed offset there is the next
SOURCE offset to copy. That rule fits targets whose outputs are named after their inputs
and keep their partition (the mirror's routes); the group holds no members, so its
offsets are written only by the transactions.

The exactly-once runner asks this store, instead of the agent's group, for the group
metadata its transactions commit under and, at a claim, for the committed position
(records below it were copied by a predecessor and are skipped). The agent keeps
committing the SOURCE group's offsets as at least once: only after a run's transactions
committed, so they trail the stored positions, and a claim that starts there skips
forward to the stored position without writing anything twice.

Per ``positions_group`` one consumer on the target cluster (never subscribed: it gives
the group's metadata and reads its committed offsets), made on first use and closed
with the store.
"""

from __future__ import annotations

import threading

from confluent_kafka import Consumer, TopicPartition

from turnout.agent.dispatch import KafkaGroup
from turnout.agent.processors.output_target import OutputTarget
from turnout.protocol.models import Role
from turnout.protocol.partitions import PartitionId

#: The positions groups' common prefix (a target cluster's group names are shared with
#: every other application there).
POSITIONS_GROUP_PREFIX = "turnout.positions"
#: How long reading a stored position may take: a claim waits for it, and a transaction
#: still completing on the coordinator holds the answer back until it is decided.
COMMITTED_TIMEOUT_S = 30.0


def input_position(tp: PartitionId, next_offset: int) -> TopicPartition:
    """The default position of an exactly-once processor: the input partition itself,
    committed for the agent's own group."""
    return TopicPartition(tp[0], tp[1], next_offset)


def positions_group(live_group: str) -> str:
    return f"{POSITIONS_GROUP_PREFIX}.{live_group}"


class TargetPositions:
    """The input positions of a processor writing to ``target`` (see the module)."""

    def __init__(self, target: OutputTarget, source: KafkaGroup) -> None:
        self._target = target
        self._source = source
        self._lock = threading.Lock()
        #: Each positions group's consumer and its group metadata (``_held``).
        self._consumers: dict[str, tuple[Consumer, object]] = {}

    def kafka_group(self) -> KafkaGroup:
        """The group the exactly-once runner commits and reads positions through."""
        return KafkaGroup(
            deployment=self._source.deployment,
            group=self.group,
            metadata=self.metadata,
            committed=self.committed,
            lease_s=self._source.lease_s,
            offsets_in_kafka=True,
            ownership_began=self._source.ownership_began,
        )

    def group(self) -> str | None:
        live = self._source.group()
        return None if live is None else positions_group(live)

    def stored_at(self, tp: PartitionId) -> PartitionId:
        """The target partition keying input partition ``tp``'s position."""
        return self._target.routes.topic(tp[0], Role.LIVE), tp[1]

    def position(self, tp: PartitionId, next_offset: int) -> TopicPartition:
        """``tp``'s position for ``send_offsets_to_transaction``."""
        topic, partition = self.stored_at(tp)
        return TopicPartition(topic, partition, next_offset)

    def metadata(self) -> object:
        """The positions group's metadata for ``send_offsets_to_transaction``. Its
        consumer never joins the group, so the metadata never changes: read once per
        group, not once per transaction in a call that waits its turn on the handle
        behind a ``committed`` look-up (which waits for pending transactional offsets)."""
        return self._held()[1]

    def committed(self, tp: PartitionId) -> int | None:
        """The next source offset of ``tp`` stored on the target (None: none yet). The
        consumer reads ``read_committed``, so a pending transactional commit is waited
        for (librdkafka asks for stable offsets)."""
        topic, partition = self.stored_at(tp)
        found = self._held()[0].committed(
            [TopicPartition(topic, partition)], timeout=COMMITTED_TIMEOUT_S
        )
        offset = found[0].offset if found else -1
        return offset if offset >= 0 else None

    def close(self) -> None:
        with self._lock:
            consumers = [consumer for consumer, _ in self._consumers.values()]
            self._consumers.clear()
        for consumer in consumers:
            consumer.close()

    def _held(self) -> tuple[Consumer, object]:
        """The held positions group's consumer and its group metadata, made on first use
        (the metadata is local: the consumer never joins the group)."""
        group = self.group()
        if group is None:
            raise LookupError("no binding held: no positions group")
        with self._lock:
            held = self._consumers.get(group)
            if held is None:
                consumer = Consumer(
                    {
                        "bootstrap.servers": self._target.bootstrap,
                        **self._target.client_properties,
                        "group.id": group,
                        "enable.auto.commit": False,
                        "isolation.level": "read_committed",
                    }
                )
                held = self._consumers[group] = (consumer, consumer.consumer_group_metadata())
            return held
