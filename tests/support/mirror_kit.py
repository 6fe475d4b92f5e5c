"""Building blocks of the mirror's integration tests: keyed source records with headers
and timestamps, a mirror agent in this process or in its own, and reading both sides."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, NewPartitions
from confluent_kafka.admin._config import ConfigResource
from confluent_kafka.admin._resource import ResourceType
from confluent_kafka.cimpl import NewTopic

from tests.support.agent_kit import (
    DEPLOYMENT,
    FENCE_MARGIN_S,
    REPO_ROOT,
    SESSION_TIMEOUT_S,
    Spawned,
    World,
)
from tests.support.kafka_records import FLUSH_TIMEOUT_S, read_all
from tests.support.services import TOPIC_CREATE_TIMEOUT_S
from turnout.agent import Agent
from turnout.mirror.assembly import mirror_parts
from turnout.mirror.settings import MirrorSettings
from turnout.protocol import Colour

#: The source records' timestamps: an hour before the session started, so that a copy
#: stamped when written could never pass for one that kept its source's. Not older: the
#: local brokers keep 24 hours, and their retention check would delete records stamped
#: before that in the middle of a test (consumers then skip to the log's new start).
BASE_TIMESTAMP_MS = int(time.time() * 1000) - 3_600_000
#: A watermark query to a local broker answers in milliseconds.
WATERMARK_TIMEOUT_S = 10.0

#: What a test compares of a record: key, value, headers and timestamp.
Fingerprint = tuple[bytes | None, bytes | None, tuple[tuple[str, bytes | None], ...], int]


def create_source_topic(
    bootstrap: str, name: str, partitions: int, configs: dict[str, str] | None = None
) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    future = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1, config=configs or {})]
    )[name]
    future.result(TOPIC_CREATE_TIMEOUT_S)


def produce_keyed(bootstrap: str, topic: str, count: int, keys: int = 64, start: int = 0) -> None:
    """``count`` records keyed ``key-<i % keys>`` (the partitioner spreads the keys), each
    with a header naming its sequence number and the timestamp ``BASE_TIMESTAMP_MS + i``."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    for i in range(start, start + count):
        producer.produce(
            topic,
            key=f"key-{i % keys}".encode(),
            value=f"value-{i}".encode(),
            headers=[("seq", str(i).encode()), ("empty", None)],
            timestamp=BASE_TIMESTAMP_MS + i,
        )
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(FLUSH_TIMEOUT_S) == 0


def by_partition(messages: list[Message]) -> dict[int, list[Fingerprint]]:
    """Each partition's records in offset order."""
    found: dict[int, list[tuple[int, Fingerprint]]] = defaultdict(list)
    for m in messages:
        headers = tuple((name, value) for name, value in (m.headers() or []))
        fingerprint = (m.key(), m.value(), headers, m.timestamp()[1])
        found[m.partition() or 0].append((m.offset() or 0, fingerprint))
    return {p: [f for _, f in sorted(records)] for p, records in found.items()}


def record_count(bootstrap: str, topic: str, client: Mapping[str, str] | None = None) -> int:
    """Records in ``topic`` (the sum of its partitions' high watermarks); 0 while it is
    missing or a partition has no leader yet (a topic just created). ``client``: more
    librdkafka properties (a secured cluster's)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "watermarks", **(client or {})}
    )
    try:
        metadata = consumer.list_topics(topic, timeout=WATERMARK_TIMEOUT_S).topics.get(topic)
        if metadata is None or metadata.error is not None:
            return 0
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), WATERMARK_TIMEOUT_S)[1]
            for p in metadata.partitions
        )
    except KafkaException:
        return 0
    finally:
        consumer.close()


def read_topic(
    bootstrap: str, topic: str, client: Mapping[str, str] | None = None
) -> dict[int, list[Fingerprint]]:
    """Every record ``topic`` holds now, by partition in offset order."""
    count = record_count(bootstrap, topic, client)
    return by_partition(read_all(bootstrap, topic, count, 60.0, client))


def start_mirror(
    world: World, instance: str, target: str, colour: Colour = Colour.BLUE, **settings: object
) -> Agent:
    """A mirror agent of ``colour`` in this process, on the world's deployment (its source
    topics)."""
    config = world.config(instance, colour)
    parts = mirror_parts(config, MirrorSettings(target_kafka=target, **settings))  # type: ignore[arg-type]
    agent = Agent(config, parts.handler, code_policy=parts.code_policy).start()
    world.agents[instance] = agent
    world.closers.append(parts.stop)
    return agent


def spawn_mirror(world: World, instance: str, target: str, log_dir: Path, *options: str) -> Spawned:
    """``turnout mirror run`` in its own process (for the kill tests), with ``options``
    (the mirror's own) added."""
    out = log_dir / f"mirror-{instance}-{len(world.spawned)}.out"
    command = [
        sys.executable,
        "-m",
        "turnout",
        "mirror",
        "run",
        "--target-kafka",
        target,
        "--source-alias",
        "a",
        "--deployment",
        DEPLOYMENT,
        "--colour",
        str(Colour.BLUE),
        "--instance",
        instance,
        "--zookeeper",
        world.zookeeper,
        "--kafka",
        world.kafka,
        "--session-timeout",
        str(SESSION_TIMEOUT_S),
        "--fence-margin",
        str(FENCE_MARGIN_S),
        *options,
    ]
    with out.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    spawned = Spawned(instance, process, out)
    world.spawned[f"{instance}-{process.pid}"] = spawned
    return spawned


def topic_config(bootstrap: str, topic: str, name: str) -> str | None:
    """A topic's config value (its own or inherited)."""
    resource = ConfigResource(ResourceType.TOPIC, topic)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    entries = admin.describe_configs([resource])[resource].result(WATERMARK_TIMEOUT_S)
    value: str | None = entries[name].value
    return value


def set_topic_configs(bootstrap: str, topic: str, configs: dict[str, str]) -> None:
    resource = ConfigResource(
        ResourceType.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
            for name, value in configs.items()
        ],
    )
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.incremental_alter_configs([resource])[resource].result(WATERMARK_TIMEOUT_S)


def add_partitions(bootstrap: str, topic: str, total: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_partitions([NewPartitions(topic, total)])[topic].result(WATERMARK_TIMEOUT_S)
