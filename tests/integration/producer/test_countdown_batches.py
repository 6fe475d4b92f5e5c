"""Batches written with ``produce_reported`` and one DeliveryCountdown against the real
local Kafka: every record's report counts down (acknowledged or failed), a full queue
holds the writer back as ``produce`` does, and close fails what it gives up on."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.support.kafka_records import read_all
from tests.support.services import Services
from turnout.producer import (
    DeliveryCountdown,
    PermanentProducerError,
    Producer,
    ProducerConfig,
    QueueFullPolicy,
    UndeliveredError,
)

#: A local broker acknowledges in milliseconds; a loaded, shared CI box needs far less.
DELIVERY_WAIT_S = 30.0
#: librdkafka holds the queue-full test's messages back this long (linger.ms).
HOLD_MS = 1500


def _config(services: Services, unique: Callable[[str], str], **update: object) -> ProducerConfig:
    return ProducerConfig(bootstrap_servers=services.kafka, client_id=unique("batch")).model_copy(
        update=update
    )


def test_a_counted_batch_is_done_once_every_record_is_acknowledged(
    services: Services, unique: Callable[[str], str], topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=3)
    with Producer(_config(services, unique)) as producer:
        countdown = DeliveryCountdown(200)
        report = producer.reporting_to(countdown)
        for i in range(200):
            producer.produce_reported(topic, b"v%d" % i, b"k%d" % (i % 7), None, report)
        assert countdown.wait(DELIVERY_WAIT_S)
        assert countdown.acknowledged_count == 200 and countdown.failures == []
        assert producer.stats.snapshot().acked == 200
    assert len(read_all(services.kafka, topic, 200)) == 200


def test_a_record_to_an_unknown_topic_fails_the_countdown(
    services: Services, unique: Callable[[str], str]
) -> None:
    config = _config(
        services, unique, kafka_properties={"topic.metadata.propagation.max.ms": "500"}
    )
    with Producer(config) as producer:
        countdown = DeliveryCountdown(1)
        producer.produce_reported(
            unique("no-such-topic"), b"x", None, None, producer.reporting_to(countdown)
        )
        assert countdown.wait(DELIVERY_WAIT_S)
        [error] = countdown.failures
        assert isinstance(error, PermanentProducerError)


def test_a_full_queue_holds_the_batch_writer_back_until_there_is_room(
    services: Services, unique: Callable[[str], str], topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory()
    config = _config(
        services, unique, queue_max_messages=5, linger_ms=HOLD_MS, queue_full=QueueFullPolicy.BLOCK
    )
    with Producer(config) as producer:
        countdown = DeliveryCountdown(6)
        report = producer.reporting_to(countdown)
        started = time.monotonic()
        for i in range(6):
            producer.produce_reported(topic, b"%d" % i, None, None, report)
        waited = time.monotonic() - started
        assert waited >= HOLD_MS / 1000 / 2  # the sixth waited for the first five to go
        assert countdown.wait(DELIVERY_WAIT_S)
        assert countdown.acknowledged_count == 6
        assert producer.stats.snapshot().queue_full == 1


def test_close_fails_the_records_of_a_batch_it_gives_up_on(
    services: Services, unique: Callable[[str], str]
) -> None:
    config = _config(
        services, unique, kafka_properties={"topic.metadata.propagation.max.ms": "60000"}
    )
    producer = Producer(config)
    countdown = DeliveryCountdown(3)
    report = producer.reporting_to(countdown)
    for i in range(3):
        producer.produce_reported(unique("missing"), b"%d" % i, None, None, report)
    assert producer.close(timeout_s=0.5).undelivered == 3
    assert countdown.wait(0.0)
    assert all(isinstance(error, UndeliveredError) for error in countdown.failures)
    assert len(countdown.failures) == 3
