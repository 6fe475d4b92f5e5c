"""ConfirmingProducer on the real local Kafka: a confirm returns once everything written
is acknowledged and counts it, raises the error of a record the broker refused, and a
record that asks for its own report is refused (a success would never be reported)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client import CollectorRegistry

from tests.support.kafka_records import read_all
from tests.support.services import Services
from turnout.producer import ConfirmingProducer, PermanentProducerError, ProducerConfig

#: A local broker acknowledges in milliseconds; a loaded, shared CI box needs far less.
CONFIRM_WAIT_S = 30.0
#: The topic-level record limit of the refusing topic: the broker refuses a larger batch
#: (MSG_SIZE_TOO_LARGE) after the producer, whose own limit is a megabyte, sent it.
TOPIC_MAX_MESSAGE_BYTES = 1_000


@pytest.fixture
def config(services: Services, unique: Callable[[str], str]) -> ProducerConfig:
    return ProducerConfig(bootstrap_servers=services.kafka, client_id=unique("confirming"))


def refusing_topic(services: Services, unique: Callable[[str], str]) -> str:
    """A topic whose broker refuses records over ``TOPIC_MAX_MESSAGE_BYTES``."""
    name = unique("small-records")
    config = {"max.message.bytes": str(TOPIC_MAX_MESSAGE_BYTES)}
    admin = AdminClient({"bootstrap.servers": services.kafka})  # kept until it answers
    futures = admin.create_topics(
        [NewTopic(name, num_partitions=1, replication_factor=1, config=config)]
    )
    futures[name].result(CONFIRM_WAIT_S)
    return name


def test_a_confirm_returns_once_everything_written_is_acknowledged_and_counts_it(
    config: ProducerConfig, services: Services, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory()
    registry = CollectorRegistry()
    with ConfirmingProducer[bytes, bytes](config, registry=registry) as producer:
        producer.produce_writes([(topic, b"%d" % i, b"k", 0, 0, None) for i in range(500)])
        producer.produce(topic, b"500", b"k")
        assert producer.confirm(CONFIRM_WAIT_S) == 0
        assert len(producer) == 0

        def value(metric: str) -> float | None:
            return registry.get_sample_value(metric, {"producer": config.client_id})

        assert value("turnout_producer_acked_total") == 501
        assert value("turnout_producer_sent_total") == 501
    values = [m.value() for m in read_all(services.kafka, topic, 501)]
    assert values == [b"%d" % i for i in range(501)]


def test_a_record_the_broker_refuses_fails_the_confirm_with_its_error(
    config: ProducerConfig, services: Services, unique: Callable[[str], str]
) -> None:
    topic = refusing_topic(services, unique)
    registry = CollectorRegistry()
    with ConfirmingProducer[bytes, bytes](config, registry=registry) as producer:
        producer.produce(topic, b"small")
        assert producer.confirm(CONFIRM_WAIT_S) == 0
        producer.produce(topic, b"x" * (10 * TOPIC_MAX_MESSAGE_BYTES))
        with pytest.raises(PermanentProducerError, match="MSG_SIZE_TOO_LARGE"):
            producer.confirm(CONFIRM_WAIT_S)
        # Confirmed since: the failure was raised once, and counted.
        producer.produce(topic, b"small again")
        assert producer.confirm(CONFIRM_WAIT_S) == 0

        def value(metric: str, **labels: str) -> float | None:
            return registry.get_sample_value(metric, {"producer": config.client_id, **labels})

        assert value("turnout_producer_acked_total") == 2
        assert value("turnout_producer_failed_total", error="MSG_SIZE_TOO_LARGE") == 1
    values = [m.value() for m in read_all(services.kafka, topic, 2)]
    assert values == [b"small", b"small again"]


def test_a_record_asking_for_its_own_report_is_refused(
    config: ProducerConfig, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory()
    with ConfirmingProducer[bytes, bytes](config) as producer:
        with pytest.raises(ValueError, match="reports failures only"):
            producer.send(topic, b"x")
        with pytest.raises(ValueError, match="reports failures only"):
            producer.produce_reported(topic, b"x", None, None, lambda _e, _m: None)
        assert len(producer) == 0
