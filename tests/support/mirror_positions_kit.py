"""Building blocks of the mirror's position tests (offset syncs, translation,
checkpoints) on two real clusters: a mirrored keyed topic whose newest positions are
synced, a group that read part of it, reading the target from given offsets."""

from __future__ import annotations

import json
import time
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition
from typer.testing import CliRunner

from tests.support.agent_kit import DEPLOYMENT, World, wait_until
from tests.support.mirror_kit import (
    Fingerprint,
    by_partition,
    create_source_topic,
    produce_keyed,
    read_topic,
    record_count,
    start_mirror,
)
from tests.support.services import Services, unique_name
from turnout.mirror.cli import app as mirror_app
from turnout.mirror.offset_syncs import SYNC_EVERY_S
from turnout.mirror.sync_topic import read_syncs

PARTITIONS = 8
RECORDS = 4000
#: Copying a few thousand records between two local brokers takes seconds; a 2-core
#: machine shared with other test sessions needs more.
MIRRORED_TIMEOUT_S = 120.0
#: The newest position is synced within SYNC_EVERY_S of its copy; the rest is slack for
#: a loaded machine.
SYNCED_TIMEOUT_S = SYNC_EVERY_S + 30.0
#: One poll of a local broker.
POLL_S = 0.5


def target_kafka(services: Services) -> str:
    assert services.second_kafka is not None
    return services.second_kafka


def mirror_all(services: Services, w: World) -> str:
    """Keyed records mirrored to ``a.<topic>``, every partition's newest position synced;
    the target topic."""
    source, target = w.topic, f"a.{w.topic}"
    create_source_topic(services.kafka, source, PARTITIONS)
    produce_keyed(services.kafka, source, RECORDS)
    w.create_directive()
    start_mirror(w, "m-1", target_kafka(services), source_alias="a")
    wait_until(
        lambda: record_count(target_kafka(services), target) >= RECORDS,
        MIRRORED_TIMEOUT_S,
        lambda: f"{record_count(target_kafka(services), target)} of {RECORDS} records mirrored",
    )
    return target


def newest_synced(services: Services, source: str) -> dict[int, int]:
    table = read_syncs(target_kafka(services), DEPLOYMENT)
    return {
        partition: history.syncs[-1].source
        for (topic, partition), history in table.histories.items()
        if topic == source
    }


def consume_part(bootstrap: str, topic: str, group: str, count: int) -> dict[int, int]:
    """Read ``count`` records of ``topic`` as ``group`` and commit; the committed offsets."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    positions: dict[int, int] = {}
    read = 0
    try:
        while read < count:
            for message in consumer.consume(min(100, count - read), POLL_S):
                if message.error() is None:
                    positions[message.partition() or 0] = (message.offset() or 0) + 1
                    read += 1
        consumer.commit(
            offsets=[TopicPartition(topic, p, o) for p, o in positions.items()],
            asynchronous=False,
        )
    finally:
        consumer.close()
    return positions


def read_from(bootstrap: str, topic: str, starts: dict[int, int]) -> dict[int, list[Fingerprint]]:
    """Every record of ``topic`` from ``starts`` (partition → offset) to its end now."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": unique_name("check"),
            "enable.auto.commit": False,
        }
    )
    try:
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), 10.0)[1] for p in starts
        }
        consumer.assign([TopicPartition(topic, p, o) for p, o in starts.items()])
        wanted = sum(ends[p] - starts[p] for p in starts)
        found: list[Message] = []
        deadline = time.monotonic() + MIRRORED_TIMEOUT_S
        while len(found) < wanted and time.monotonic() < deadline:
            found += [m for m in consumer.consume(500, POLL_S) if m.error() is None]
    finally:
        consumer.close()
    assert len(found) == wanted, f"{len(found)} of {wanted} read from the translated offsets"
    return by_partition(found)


def read_committed(
    bootstrap: str, topic: str, starts: dict[int, int] | None = None
) -> dict[int, list[Fingerprint]]:
    """Every committed record of ``topic`` now, by partition in offset order, as a
    ``read_committed`` reader finds them from ``starts`` (partition → offset; default:
    every partition from 0) to each partition's end (empty while the topic is missing).
    Transaction markers take offsets, so the high watermarks do not count records here."""
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
        metadata = consumer.list_topics(topic, timeout=MIRRORED_TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None or not metadata.partitions:
            return {}
        chosen = starts if starts is not None else dict.fromkeys(metadata.partitions, 0)
        consumer.assign([TopicPartition(topic, p, o) for p, o in chosen.items()])
        open_partitions = set(chosen)
        deadline = time.monotonic() + MIRRORED_TIMEOUT_S
        while open_partitions and time.monotonic() < deadline:
            for message in consumer.consume(1000, POLL_S):
                error = message.error()
                if error is None:
                    found.append(message)
                elif error.code() == KafkaError._PARTITION_EOF:
                    open_partitions.discard(message.partition() or 0)
        assert not open_partitions, f"partitions {sorted(open_partitions)} of {topic} not read"
    finally:
        consumer.close()
    return by_partition(found)


def committed_count(bootstrap: str, topic: str) -> int:
    return sum(len(records) for records in read_committed(bootstrap, topic).values())


def translate_json(services: Services, group: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        mirror_app,
        [
            "translate",
            "--group",
            group,
            "--deployment",
            DEPLOYMENT,
            "--kafka",
            services.kafka,
            "--target-kafka",
            target_kafka(services),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def wait_newest_synced(services: Services, source: str) -> None:
    ends = {p: len(r) - 1 for p, r in read_topic(services.kafka, source).items()}
    wait_until(
        lambda: newest_synced(services, source) == ends,
        SYNCED_TIMEOUT_S,
        lambda: f"newest synced {newest_synced(services, source)}, copied {ends}",
    )
