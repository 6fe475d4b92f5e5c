"""Producing and reading test records on the real Kafka (the work and agent tests)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from confluent_kafka import Consumer, Message, Producer, TopicPartition

#: A local broker acknowledges within milliseconds; a loaded CI box needs far less than this.
FLUSH_TIMEOUT_S = 30.0


def produce(
    bootstrap: str,
    topic: str,
    count: int,
    partitions: int = 1,
    headers: list[tuple[str, str | bytes | None]] | None = None,
) -> None:
    """``count`` records, round-robin over partitions, key ``k<i>``, value ``v<i>``."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(
            topic,
            key=b"k%d" % i,
            value=b"v%d" % i,
            partition=i % partitions,
            headers=headers or [],
        )
    assert producer.flush(FLUSH_TIMEOUT_S) == 0


def read_all(
    bootstrap: str,
    topic: str,
    expected: int,
    timeout_s: float = 30.0,
    client: Mapping[str, str] | None = None,
) -> list[Message]:
    """Every record of partition 0.. of ``topic`` until ``expected`` arrived (bounded);
    ``client``: more librdkafka properties (a secured cluster's)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "enable.auto.commit": False,
            **(client or {}),
        }
    )
    metadata = consumer.list_topics(topic, timeout=10.0)
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions])
    found: list[Message] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(found) < expected and time.monotonic() < deadline:
            found.extend(m for m in consumer.consume(100, 0.2) if m.error() is None)
        # A little longer, to catch records beyond the expected count.
        found.extend(m for m in consumer.consume(100, 0.5) if m.error() is None)
    finally:
        consumer.close()
    return found
