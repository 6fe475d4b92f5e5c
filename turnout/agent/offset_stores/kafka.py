"""Kafka group offsets: what Kafka's own tools read and report lag against.

Kafka cannot check ZooKeeper ownership, so the agent's lease check right before the
commit is the only guard (see docs/protocol.md, "Fencing").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from turnout.agent.dispatch import CommitPoint
from turnout.agent.kafka_source import KafkaSource
from turnout.agent.offset_stores.base import Claim, StoredOffset, metadata_for
from turnout.protocol import CommitMetadata
from turnout.protocol.partitions import PartitionId


class KafkaOffsetStore:
    def __init__(self, source: KafkaSource) -> None:
        self._source = source

    def on_claim(self, claims: Sequence[Claim]) -> dict[PartitionId, StoredOffset | None]:
        found = self._source.committed([c.tp for c in claims])
        return {
            tp: None if value is None else StoredOffset(value[0], CommitMetadata.decode(value[1]))
            for tp, value in found.items()
        }

    def commit(
        self, points: Mapping[PartitionId, tuple[Claim, CommitPoint]]
    ) -> dict[PartitionId, Exception]:
        try:
            self._source.commit(
                {
                    tp: (point.next_offset, metadata_for(claim, point).encode())
                    for tp, (claim, point) in points.items()
                }
            )
        except Exception as exc:
            return dict.fromkeys(points, exc)
        return {}

    def forget(self, tp: PartitionId) -> None:
        return None
