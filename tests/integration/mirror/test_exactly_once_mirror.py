"""The mirror exactly once, on two real clusters: a `turnout mirror run` process
SIGKILLed mid-stream and another started, and a read_committed reader of the target
finds every source record once, in source order."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from tests.support.agent_kit import World, wait_until
from tests.support.mirror_kit import (
    Fingerprint,
    by_partition,
    create_source_topic,
    produce_keyed,
    read_topic,
    spawn_mirror,
)
from tests.support.mirror_positions_kit import MIRRORED_TIMEOUT_S, PARTITIONS, target_kafka
from tests.support.services import Services, unique_name
from turnout.protocol.processing import ProcessingSettings

#: Records produced before the mirror starts, and at most while it runs (in chunks, so
#: that the kill always finds it copying: one transaction may carry thousands).
RECORDS = 20_000
CHUNK = 500
CHUNK_EVERY_S = 0.1
#: Reading a topic of tens of thousands of small records from a local broker.
READ_TIMEOUT_S = 60.0

EXACTLY_ONCE = ProcessingSettings.model_validate(
    {"version": 2, "ordering": "partition", "guarantee": "exactly_once"}
)


def _read_committed(bootstrap: str, topic: str) -> dict[int, list[Fingerprint]]:
    """Every committed record of ``topic`` now, by partition in offset order, as a
    ``read_committed`` reader finds them (up to each partition's end; empty while the
    topic is missing). Transaction markers take offsets, so the high watermarks do not
    count records here."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique_name("committed"),
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
        }
    )
    found: list[Message] = []
    try:
        metadata = consumer.list_topics(topic, timeout=READ_TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return {}
        consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
        open_partitions = set(metadata.partitions)
        deadline = time.monotonic() + READ_TIMEOUT_S
        while open_partitions and time.monotonic() < deadline:
            for message in consumer.consume(1000, 0.2):
                error = message.error()
                if error is None:
                    found.append(message)
                elif error.code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard(message.partition() or 0)
    finally:
        consumer.close()
    return by_partition(found)


def _committed_count(bootstrap: str, topic: str) -> int:
    return sum(len(records) for records in _read_committed(bootstrap, topic).values())


def test_a_sigkilled_exactly_once_mirror_leaves_every_record_once_in_the_target(
    two_clusters: Services, positions_world: World, tmp_path: Path
) -> None:
    source, target = positions_world.topic, f"a.{positions_world.topic}"
    create_source_topic(two_clusters.kafka, source, PARTITIONS)
    produce_keyed(two_clusters.kafka, source, RECORDS)
    positions_world.create_directive(processing=EXACTLY_ONCE)
    produced = [RECORDS]
    stop_producing = threading.Event()

    def keep_producing() -> None:
        while not stop_producing.wait(CHUNK_EVERY_S) and produced[0] < 2 * RECORDS:
            produce_keyed(two_clusters.kafka, source, CHUNK, start=produced[0])
            produced[0] += CHUNK

    producing = threading.Thread(target=keep_producing, name="chunks", daemon=True)
    first = spawn_mirror(positions_world, "m-1", target_kafka(two_clusters), tmp_path)
    producing.start()
    try:
        wait_until(
            lambda: _committed_count(target_kafka(two_clusters), target) >= RECORDS // 10,
            MIRRORED_TIMEOUT_S,
            lambda: (
                f"the first mirror copied {_committed_count(target_kafka(two_clusters), target)}"
                f"; its output: {first.output()}"
            ),
        )
        first.signal(signal.SIGKILL)
        first.kill()
    finally:
        stop_producing.set()
        producing.join()
    total = produced[0]
    at_kill = _committed_count(target_kafka(two_clusters), target)
    assert at_kill < total, "the mirror finished before it was killed: nothing was tested"

    second = spawn_mirror(positions_world, "m-2", target_kafka(two_clusters), tmp_path)
    wait_until(
        lambda: _committed_count(target_kafka(two_clusters), target) >= total,
        MIRRORED_TIMEOUT_S,
        lambda: (
            f"{_committed_count(target_kafka(two_clusters), target)} of {total} in the "
            f"target; the second mirror's output: {second.output()}"
        ),
    )
    expected = read_topic(two_clusters.kafka, source)
    mirrored = _read_committed(target_kafka(two_clusters), target)
    # Every partition's committed copies are its source records once each, in order:
    # nothing lost, nothing duplicated, keys, values, headers and timestamps kept.
    assert mirrored == expected
