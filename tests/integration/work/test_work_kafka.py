"""The work manager against real Kafka, driven by a plain assign()-based consume loop."""

from __future__ import annotations

import threading
from collections.abc import Callable

from confluent_kafka.admin import AdminClient

from bench.assign_loop import AssignLoop, read_committed
from tests.support.kafka_records import produce, read_all
from tests.support.services import Services, create_topic
from turnout.agent.records import Record
from turnout.agent.work import (
    DeadLetterProducer,
    FailedDecision,
    Ordering,
    PermanentFailure,
    WorkConfig,
    WorkManager,
)
from turnout.agent.work.config import DeadLetterConfig
from turnout.agent.work.dead_letters import (
    HEADER_ATTEMPTS,
    HEADER_ERROR_MESSAGE,
    HEADER_ERROR_TYPE,
    HEADER_GROUP,
    HEADER_OFFSET,
    HEADER_PARTITION,
    HEADER_TIMESTAMP,
    HEADER_TOPIC,
)

#: Generous bounds for a shared 2-core machine; the loops finish in well under a second idle.
RUN_TIMEOUT_S = 60.0


def committed_next(loop: AssignLoop, services: Services, group: str, topic: str) -> int:
    loop.commit()
    found = read_committed(services.kafka, group, [(topic, 0)])
    return found[(topic, 0)][0] if (topic, 0) in found else -1


def test_dead_letters_carry_the_original_payload_and_every_header(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(1)
    create_topic(services.kafka, f"{topic}.dlq", 1)
    group = unique("group")
    produce(services.kafka, topic, 10, headers=[("trace", b"abc"), ("empty", b"")])

    def handler(record: Record) -> None:
        if record.offset in (2, 5):
            raise PermanentFailure(f"cannot parse record {record.offset}")

    manager = WorkManager(
        WorkConfig(backoff=0.01),
        handler=handler,
        dead_letters=DeadLetterProducer(services.kafka, group),
    )
    loop = AssignLoop(services.kafka, group, [(topic, 0)], manager)
    loop.open()
    try:
        loop.run(lambda: committed_next(loop, services, group, topic) == 10, RUN_TIMEOUT_S)
    finally:
        loop.close()
    dead = read_all(services.kafka, f"{topic}.dlq", 2)
    assert len(dead) == 2
    originals = read_all(services.kafka, topic, 10)
    for letter, offset in zip(dead, (2, 5), strict=True):
        original = originals[offset]
        assert letter.key() == b"k%d" % offset
        assert letter.value() == b"v%d" % offset
        headers = letter.headers() or []
        assert headers[:2] == [("trace", b"abc"), ("empty", b"")]
        added = dict(headers[2:])
        assert added == {
            HEADER_TOPIC: topic.encode(),
            HEADER_PARTITION: b"0",
            HEADER_OFFSET: str(offset).encode(),
            HEADER_TIMESTAMP: str(original.timestamp()[1]).encode(),
            HEADER_GROUP: group.encode(),
            HEADER_ERROR_TYPE: b"turnout.agent.work.outcomes.PermanentFailure",
            HEADER_ERROR_MESSAGE: f"cannot parse record {offset}".encode(),
            HEADER_ATTEMPTS: b"1",
        }


def test_the_rate_guard_stops_a_bad_deploy_from_draining_the_topic_into_its_dlq(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(1)
    create_topic(services.kafka, f"{topic}.dlq", 1)
    group = unique("group")
    produce(services.kafka, topic, 50)

    def handler(record: Record) -> None:
        raise RuntimeError("every record fails after a bad deploy")

    config = WorkConfig(
        max_retries=1,
        backoff=0.01,
        dead_letter=DeadLetterConfig(max_consecutive=3, max_ratio=1.0, min_samples=1),
    )
    manager = WorkManager(
        config,
        handler=handler,
        dead_letters=DeadLetterProducer.from_config(services.kafka, group, config.dead_letter),
    )
    loop = AssignLoop(services.kafka, group, [(topic, 0)], manager)
    loop.open()
    try:
        loop.run(lambda: manager.stop_reason() is not None, RUN_TIMEOUT_S)
    finally:
        loop.close()
    assert "in a row" in (manager.stop_reason() or "")
    assert len(read_all(services.kafka, f"{topic}.dlq", 3)) == 3
    found = read_committed(services.kafka, group, [(topic, 0)])
    # The three dead letters are committed; the record that tripped the guard is not.
    assert found[(topic, 0)][0] == 3


def test_gaps_commit_below_the_first_unfinished_record_and_a_successor_redoes_only_the_gaps(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(1)
    group = unique("group")
    produce(services.kafka, topic, 10)
    release = threading.Event()

    def stuck_on_3_and_7(record: Record) -> None:
        if record.offset in (3, 7):
            release.wait(RUN_TIMEOUT_S)

    first = WorkManager(
        WorkConfig(ordering=Ordering.UNORDERED, workers=4), handler=stuck_on_3_and_7
    )
    loop = AssignLoop(services.kafka, group, [(topic, 0)], first, instance="first")
    loop.open()
    try:
        loop.run(
            lambda: (
                committed_next(loop, services, group, topic) == 3
                and _done_beyond(services, group, topic) == (4, 5, 6, 8, 9)
            ),
            RUN_TIMEOUT_S,
        )
    finally:
        # A crash: no drain, no final commit.
        loop.abandon()
        release.set()
        first.close(0.0)

    redone: list[int] = []
    successor = WorkManager(
        WorkConfig(ordering=Ordering.UNORDERED, workers=4),
        handler=lambda record: redone.append(record.offset),
        on_failure=lambda failure: FailedDecision.DO_NOT_COMMIT_AND_STOP,
    )
    loop = AssignLoop(services.kafka, group, [(topic, 0)], successor, instance="second", epoch=2)
    assert loop.open() == {(topic, 0): frozenset({4, 5, 6, 8, 9})}
    try:
        loop.run(lambda: committed_next(loop, services, group, topic) == 10, RUN_TIMEOUT_S)
    finally:
        loop.close()
    assert sorted(redone) == [3, 7]


def _done_beyond(services: Services, group: str, topic: str) -> tuple[int, ...] | None:
    found = read_committed(services.kafka, group, [(topic, 0)])
    metadata = found.get((topic, 0), (0, None))[1]
    return metadata.done if metadata else None


def test_a_missing_dead_letter_topic_is_created_like_its_source_before_the_first_letter(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(3)
    group = unique("group")
    produce(services.kafka, topic, 6)  # two records per partition
    done: list[BaseException | None] = []
    sink = DeadLetterProducer(services.kafka, group)
    try:
        for message in read_all(services.kafka, topic, 6)[:2]:
            partition = message.partition()
            assert partition is not None
            record = Record.from_message(message, topic, partition, epoch=1)
            sink.send(record, PermanentFailure("bad"), 1, done.append)
    finally:
        sink.close(RUN_TIMEOUT_S)
    assert done == [None, None]  # both acknowledged
    metadata = AdminClient({"bootstrap.servers": services.kafka}).list_topics(
        topic=f"{topic}.dlq", timeout=RUN_TIMEOUT_S
    )
    assert len(metadata.topics[f"{topic}.dlq"].partitions) == 3
    assert len(read_all(services.kafka, f"{topic}.dlq", 2)) == 2


def test_with_creation_off_a_missing_dead_letter_topic_fails_the_letter_at_once(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(1)
    produce(services.kafka, topic, 1)
    (message,) = read_all(services.kafka, topic, 1)
    record = Record.from_message(message, topic, 0, epoch=1)
    sink = DeadLetterProducer.from_config(
        services.kafka, unique("group"), DeadLetterConfig(create_topic=False)
    )
    outcome: list[BaseException | None] = []
    try:
        sink.send(record, PermanentFailure("bad"), 1, outcome.append)
    finally:
        sink.close(1.0)
    assert len(outcome) == 1 and outcome[0] is not None
    assert "does not exist (creating it is off)" in str(outcome[0])
