"""Pluggable offset storage: Kafka group offsets (default) or ZooKeeper."""

from turnout.agent.offsets.base import Claim, Committed, OffsetStore, StaleCommitError
from turnout.agent.offsets.kafka import KafkaOffsetStore
from turnout.agent.offsets.zookeeper import ZkOffsetStore

__all__ = [
    "Claim",
    "Committed",
    "KafkaOffsetStore",
    "OffsetStore",
    "StaleCommitError",
    "ZkOffsetStore",
]
