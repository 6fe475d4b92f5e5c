"""Pluggable offset storage: Kafka group offsets (default) or ZooKeeper."""

from turnout.agent.offset_stores.base import Claim, OffsetStore, StaleCommitError, StoredOffset
from turnout.agent.offset_stores.kafka import KafkaOffsetStore
from turnout.agent.offset_stores.zookeeper import ZkOffsetStore

__all__ = [
    "Claim",
    "KafkaOffsetStore",
    "OffsetStore",
    "StaleCommitError",
    "StoredOffset",
    "ZkOffsetStore",
]
