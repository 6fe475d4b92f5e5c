"""TransactionalProducer on the real local Kafka: records and offsets commit together,
an abort hides its records, and a second producer with the same transactional.id fences
the first."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from tests.support.kafka_records import produce
from tests.support.services import Services
from turnout.producer import (
    PARTITION_ANY,
    ProducerConfig,
    ProducerFencedError,
    TransactionalProducer,
)

#: A local coordinator answers in milliseconds; a loaded, shared CI box needs far less.
WAIT_S = 30.0


def read_committed(bootstrap: str, topic: str, settle_s: float = 1.0) -> list[bytes]:
    """Every committed value of ``topic``'s partition 0, read until nothing new comes for
    ``settle_s`` (a read_committed reader stops at the last stable offset)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{topic}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    values: list[bytes] = []
    quiet_since = time.monotonic()
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() - quiet_since < settle_s and time.monotonic() < deadline:
            batch = [m for m in consumer.consume(100, 0.2) if m.error() is None]
            if batch:
                values.extend(m.value() or b"" for m in batch)
                quiet_since = time.monotonic()
    finally:
        consumer.close()
    return values


@pytest.fixture
def config(services: Services, unique: Callable[[str], str]) -> ProducerConfig:
    return ProducerConfig(bootstrap_servers=services.kafka, client_id=unique("txn"))


@pytest.fixture
def in_transaction(
    config: ProducerConfig, unique: Callable[[str], str]
) -> Iterator[Callable[..., TransactionalProducer]]:
    """``in_transaction(transactional_id=None, name=None)``: a transactional producer that
    has taken over its id and begun a transaction; closed at the end of the test."""
    with ExitStack() as stack:

        def start(
            transactional_id: str | None = None, name: str | None = None
        ) -> TransactionalProducer:
            producer = TransactionalProducer(config, transactional_id or unique("tid"), name=name)
            stack.callback(producer.close)
            producer.init_transactions()
            producer.begin_transaction()
            return producer

        yield start


def test_records_and_input_offsets_commit_together(
    in_transaction: Callable[..., TransactionalProducer],
    services: Services,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    source, sink = topic_factory(), topic_factory()
    produce(services.kafka, source, 3)
    consumer = Consumer(
        {
            "bootstrap.servers": services.kafka,
            "group.id": unique("group"),
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    consumer.assign([TopicPartition(source, 0, 0)])
    inputs: list[Message] = []
    deadline = time.monotonic() + WAIT_S
    while len(inputs) < 3 and time.monotonic() < deadline:
        inputs.extend(m for m in consumer.consume(10, 0.2) if m.error() is None)
    assert [m.value() for m in inputs] == [b"v0", b"v1", b"v2"]
    processor = in_transaction()
    for message in inputs:
        processor.produce(sink, b"out-" + (message.value() or b""))
    processor.send_offsets_to_transaction(
        [TopicPartition(source, 0, (inputs[-1].offset() or 0) + 1)],
        consumer.consumer_group_metadata(),
    )
    processor.commit_transaction()
    [committed] = consumer.committed([TopicPartition(source, 0)], timeout=WAIT_S)
    consumer.close()
    assert committed.offset == 3
    assert read_committed(services.kafka, sink) == [b"out-v0", b"out-v1", b"out-v2"]


def test_an_aborted_transaction_is_never_read(
    in_transaction: Callable[..., TransactionalProducer],
    services: Services,
    topic_factory: Callable[..., str],
) -> None:
    topic = topic_factory()
    producer = in_transaction()
    written = producer.send(topic, b"aborted")
    written.result(WAIT_S)  # written to the log, not committed
    producer.abort_transaction()
    producer.begin_transaction()
    producer.produce(topic, b"committed")
    producer.commit_transaction()
    assert read_committed(services.kafka, topic) == [b"committed"]


def test_a_second_producer_with_the_same_id_fences_the_first(
    in_transaction: Callable[..., TransactionalProducer],
    services: Services,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic = topic_factory()
    transactional_id = unique("tid")
    first = in_transaction(transactional_id, name="first")
    first.send(topic, b"from the first owner").result(WAIT_S)
    # Taking the id over fences the first and aborts its open transaction.
    second = in_transaction(transactional_id, name="second")
    with pytest.raises(ProducerFencedError):
        first.commit_transaction()
    with pytest.raises(ProducerFencedError):
        first.produce(topic, b"too late")
    second.produce(topic, b"from the second owner")
    second.commit_transaction()
    assert read_committed(services.kafka, topic) == [b"from the second owner"]


#: librdkafka's transaction coordinator query timer: a first transactional call that
#: finds no broker connection up waits for it. A connected producer's first call is two
#: local round trips; this leaves a loaded machine room while still catching the timer.
COORDINATOR_QUERY_TIMER_S = 0.5


def test_a_connected_producer_takes_its_id_over_without_waiting_for_the_coordinator_timer(
    config: ProducerConfig, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory()
    took: list[float] = []
    with ExitStack() as stack:
        # Each a fresh handle, as a claim makes: without the connection up, about half
        # of them wait for the timer.
        for _ in range(6):
            producer = TransactionalProducer(config, unique("tid"))
            stack.callback(producer.close)
            producer.connect([topic], WAIT_S)
            started = time.monotonic()
            producer.init_transactions()
            took.append(time.monotonic() - started)
    assert max(took) < COORDINATOR_QUERY_TIMER_S, took


def test_with_failure_reports_only_a_batch_commits_and_counts_as_acknowledged_at_the_commit(
    config: ProducerConfig,
    services: Services,
    topic_factory: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    topic = topic_factory()
    producer: TransactionalProducer = TransactionalProducer(
        config, unique("tid"), failure_reports_only=True
    )
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.produce_writes(
            [(topic, f"w{i}".encode(), b"k", PARTITION_ANY, 0, None) for i in range(3)]
        )
        producer.produce(topic, b"single")
        with pytest.raises(ValueError, match="reports failures only"):
            producer.send(topic, b"wants its own report")
        assert producer.stats.acked == 0
        producer.commit_transaction()
        assert producer.stats.acked == 4
    finally:
        producer.close()
    assert read_committed(services.kafka, topic) == [b"w0", b"w1", b"w2", b"single"]
