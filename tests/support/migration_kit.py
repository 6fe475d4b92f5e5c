"""Building blocks of the cluster migration tests: a consumer deployment on cluster A
whose topic a running mirror copies to cluster B, and a history in source offsets.

The copies' partitions hold ``FOREIGN_RECORDS`` records of their own before the
mirror's first copy, so that a position on B is never the same number as on A: a colour
that started at A's offset on B would read foreign records (a failure the handler
names) or skip records. A colour on B logs each record it processes under its SOURCE
coordinates, read from the mirror's coordinate headers (records carry their identity
through the mirror), and its claims and commits shifted back by ``FOREIGN_RECORDS``
(the mirror copies each record once here: the handler checks that the header says the
same), so the verify toolkit's checker judges one history across both clusters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, Producer

from tests.support.agent_kit import World, wait_until, world
from tests.support.kafka_records import FLUSH_TIMEOUT_S
from tests.support.mirror_kit import create_source_topic, start_mirror
from tests.support.mirror_positions_kit import target_kafka
from tests.support.services import Services, unique_name, zk_chroot
from turnout.agent import Handler
from turnout.agent.observer import AgentObserver
from turnout.agent.records import Record
from turnout.mirror.source_coordinates import as_source_record, source_offset
from turnout.verify import read_history
from turnout.verify.events import Processed

#: Records of its own each copies' partition holds before the mirror's first copy.
FOREIGN_RECORDS = 7
#: The mirror's source alias: ``orders`` is copied to ``a.orders``.
ALIAS = "a"


@dataclass
class MigrationWorld:
    """The mirror's deployment (``mirror``) and the consumer's (``consumer``): two
    deployments in two ZooKeeper chroots over one source topic on cluster A."""

    mirror: World
    consumer: World
    services: Services
    #: What a colour on B found wrong about a record's identity.
    identity_errors: list[str] = field(default_factory=list)

    @property
    def copies_topic(self) -> str:
        return f"{ALIAS}.{self.consumer.topic}"

    @property
    def target(self) -> str:
        return target_kafka(self.services)

    def start_mirror(self) -> None:
        """The copies' topic with its foreign records first, then a running mirror (with
        coordinate headers) of the source topic."""
        create_source_topic(self.target, self.copies_topic, self.consumer.partitions)
        producer = Producer({"bootstrap.servers": self.target})
        for partition in range(self.consumer.partitions):
            for i in range(FOREIGN_RECORDS):
                producer.produce(
                    self.copies_topic, value=f"foreign-{i}".encode(), partition=partition
                )
        assert producer.flush(FLUSH_TIMEOUT_S) == 0
        self.mirror.create_directive()
        start_mirror(
            self.mirror, "mirror-1", self.target, source_alias=ALIAS, coordinate_headers=True
        )

    def in_source_offsets(self, handler: Handler) -> Handler:
        """``handler`` given each record of B under its source offset (see the module)."""
        errors = self.identity_errors

        def handle(record: Record) -> None:
            source = source_offset(record)
            if source is None:
                errors.append(f"{record.topic}/{record.partition}@{record.offset}: not a copy")
                return
            if source != record.offset - FOREIGN_RECORDS:
                errors.append(
                    f"{record.topic}/{record.partition}@{record.offset}: copy of {source}"
                )
            handler(as_source_record(record, source))

        return handle


class SourceOffsetsObserver:
    """An observer of a colour on B that reports its offsets as source offsets."""

    def __init__(self, inner: AgentObserver) -> None:
        self._inner = inner

    def claimed(
        self, group: str, topic: str, partition: int, epoch: int, start_offset: int
    ) -> None:
        self._inner.claimed(group, topic, partition, epoch, start_offset - FOREIGN_RECORDS)

    def released(
        self, group: str, topic: str, partition: int, epoch: int, committed_offset: int | None
    ) -> None:
        shifted = None if committed_offset is None else committed_offset - FOREIGN_RECORDS
        self._inner.released(group, topic, partition, epoch, shifted)

    def committed(self, group: str, topic: str, partition: int, offset: int, epoch: int) -> None:
        self._inner.committed(group, topic, partition, offset - FOREIGN_RECORDS, epoch)

    def fenced(self, reason: str) -> None:
        self._inner.fenced(reason)


def processed_by(consumer: World) -> Counter[str]:
    """Records processed per instance, from the consumer's event logs."""
    events = read_history(consumer.log_dir).events
    return Counter(event.instance for event in events if isinstance(event, Processed))


@contextmanager
def migration_world(
    services: Services, name: str, tmp_path: Path, partitions: int
) -> Iterator[MigrationWorld]:
    topic = unique_name("orders")
    with (
        zk_chroot(services.zookeeper, f"m-{name}") as mirror_root,
        zk_chroot(services.zookeeper, f"c-{name}") as consumer_root,
        world(
            mirror_root, services.kafka, topic, unique_name("mirror"), partitions, tmp_path / "m"
        ) as mirror,
        world(
            consumer_root,
            services.kafka,
            topic,
            unique_name("billing"),
            partitions,
            tmp_path / "c",
        ) as consumer,
    ):
        yield MigrationWorld(mirror, consumer, services)


#: Reading a source topic back once its load stopped.
READ_BACK_TIMEOUT_S = 30.0


def recorded_positions(records: Path) -> list[tuple[int, int]]:
    """(partition, source offset) of each line ``append_source_position`` wrote."""
    if not records.exists():
        return []
    lines = records.read_text().splitlines()
    return [(int(p), int(o)) for p, o, _ in (line.split(" ", 2) for line in lines)]


def source_positions(bootstrap: str, topic: str, count: int) -> list[tuple[int, int]]:
    """(partition, offset) of the first ``count`` records of ``topic``."""
    reader = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"read-{topic}",
         "auto.offset.reset": "earliest", "enable.auto.commit": False}
    )  # fmt: skip
    found: list[tuple[int, int]] = []
    try:
        reader.subscribe([topic])
        wait_until(
            lambda: (
                found.extend(
                    (m.partition(), m.offset())
                    for m in reader.consume(1000, 0.5)
                    if m.error() is None
                )
                or len(found) >= count
            ),
            READ_BACK_TIMEOUT_S,
            lambda: f"{len(found)} of {count} source records read back",
        )
    finally:
        reader.close()
    return found
