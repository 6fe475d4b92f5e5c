"""turnout.producer against the real local Kafka: what is produced is what is read back,
every delivery is reported where it was asked for, the queue-full policies hold, close
loses nothing silently, and the metrics count what happened."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME
from prometheus_client import CollectorRegistry

from tests.support.kafka_records import read_all
from tests.support.services import Services
from turnout.producer import (
    Delivery,
    Headers,
    JsonSerializer,
    PermanentProducerError,
    ProduceOptions,
    Producer,
    ProducerClosedError,
    ProducerConfig,
    QueueFullError,
    QueueFullPolicy,
    SerializationError,
    StrSerializer,
    UndeliveredError,
    delivered,
)

#: A local broker acknowledges in milliseconds; a loaded, shared CI box needs far less.
DELIVERY_WAIT_S = 30.0
#: The queue tests hold messages in librdkafka's queue this long (linger.ms) before any
#: is sent, so that a small queue stays full for a known while.
HOLD_MS = 1500


@pytest.fixture
def config(services: Services, unique: Callable[[str], str]) -> ProducerConfig:
    return ProducerConfig(bootstrap_servers=services.kafka, client_id=unique("producer"))


@pytest.fixture
def producer(config: ProducerConfig) -> Iterator[Producer]:
    with Producer(config) as made:
        yield made


def test_a_record_reads_back_with_every_field(
    producer: Producer, services: Services, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=3)
    headers: Headers = [("trace", b"t-1"), ("trace", b"t-2"), ("empty", None)]
    delivery = producer.send(
        topic, b"value", b"key", partition=2, timestamp_ms=1_700_000_000_123, headers=headers
    ).result(DELIVERY_WAIT_S)
    assert (delivery.topic, delivery.partition, delivery.offset) == (topic, 2, 0)
    assert delivery.timestamp_ms == 1_700_000_000_123
    [record] = read_all(services.kafka, topic, 1)
    assert (record.key(), record.value(), record.partition()) == (b"key", b"value", 2)
    assert record.timestamp() == (TIMESTAMP_CREATE_TIME, 1_700_000_000_123)
    assert record.headers() == headers


def test_futures_and_callbacks_each_resolve_once(
    producer: Producer, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=2)
    futures = [producer.send(topic, b"f%d" % i, partition=i % 2) for i in range(50)]
    called: list[Delivery] = []
    all_called = threading.Event()

    def on_delivery(delivery: Delivery) -> None:
        called.append(delivery)
        if len(called) == 50:
            all_called.set()

    for i in range(50):
        producer.produce(topic, b"c%d" % i, partition=i % 2, on_delivery=on_delivery)
    offsets = [future.result(DELIVERY_WAIT_S).offset for future in futures]
    assert all_called.wait(DELIVERY_WAIT_S)
    assert offsets[0::2] == list(range(25))
    assert offsets[1::2] == list(range(25))
    assert all(delivery.ok for delivery in called)
    assert sorted(d.offset for d in called if d.partition == 0) == list(range(25, 50))
    assert producer.flush(DELIVERY_WAIT_S) == 0
    assert len(called) == 50


def test_threads_producing_at_once_are_all_counted(
    producer: Producer, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=4)
    futures: list[Future[Delivery]] = []

    def produce_some(thread: int) -> None:
        for i in range(2_000):
            if i % 100 == 0:
                futures.append(producer.send(topic, b"%d-%d" % (thread, i)))
            else:
                producer.produce(topic, b"%d-%d" % (thread, i))

    threads = [threading.Thread(target=produce_some, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DELIVERY_WAIT_S)
    assert producer.flush(DELIVERY_WAIT_S) == 0
    assert all(future.result(0).ok for future in futures)
    counts = producer.stats.snapshot()
    assert (counts.sent, counts.acked, counts.failed, counts.queue_depth) == (8_000, 8_000, {}, 0)


def test_deliveries_can_be_awaited(producer: Producer, topic_factory: Callable[..., str]) -> None:
    topic = topic_factory()

    async def produce_some() -> tuple[list[Delivery], Delivery]:
        many = await asyncio.gather(*(producer.send_async(topic, b"%d" % i) for i in range(20)))
        one = await delivered(producer.send(topic, b"last"))
        return list(many), one

    many, one = asyncio.run(produce_some())
    assert sorted(d.offset for d in many) == list(range(20))
    assert one.offset == 20


def test_values_and_keys_go_through_the_chosen_serializers(
    config: ProducerConfig, services: Services, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory()
    sorted_json = ProduceOptions[str, dict[str, int]](
        value_serializer=JsonSerializer(sort_keys=True)
    )
    with Producer(config, key_serializer=StrSerializer(), value_serializer=JsonSerializer()) as p:
        p.send(topic, {"b": 1, "a": 2}, "ключ").result(DELIVERY_WAIT_S)
        p.send(topic, {"b": 1, "a": 2}, "sorted", options=sorted_json).result(DELIVERY_WAIT_S)
        with pytest.raises(SerializationError, match=f"the value for {topic}"):
            p.produce(topic, {"a": object()})
        assert p.stats.snapshot().sent == 2
    first, second = read_all(services.kafka, topic, 2)
    assert first.key() == "ключ".encode()
    assert first.value() == b'{"b":1,"a":2}'
    assert second.value() == b'{"a":2,"b":1}'
    assert json.loads(second.value() or b"") == {"a": 2, "b": 1}


def test_a_value_librdkafka_cannot_take_is_a_serialization_error(
    producer: Producer, topic_factory: Callable[..., str]
) -> None:
    with pytest.raises(SerializationError, match="bytes or str without a serializer"):
        producer.produce(topic_factory(), 12345)  # type: ignore[arg-type]


def test_an_unknown_partition_fails_the_future(
    config: ProducerConfig, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=1)
    with Producer(config) as fresh:
        # Before the topic's metadata is known librdkafka queues the record, and fails
        # it when the metadata comes; after, it refuses it at once. Both fail the future.
        unknown_yet = fresh.send(topic, b"x", partition=7)
        with pytest.raises(PermanentProducerError, match=rf"{topic}\[7\].*_UNKNOWN_PARTITION"):
            unknown_yet.result(DELIVERY_WAIT_S)
        known = fresh.send(topic, b"x", partition=7)
        with pytest.raises(PermanentProducerError, match="_UNKNOWN_PARTITION"):
            known.result(DELIVERY_WAIT_S)
        with pytest.raises(PermanentProducerError, match="_UNKNOWN_PARTITION"):
            fresh.produce(topic, b"x", partition=7)


def test_an_unknown_topic_fails_the_future(
    services: Services, unique: Callable[[str], str]
) -> None:
    config = ProducerConfig(
        bootstrap_servers=services.kafka,
        client_id=unique("producer"),
        kafka_properties={"topic.metadata.propagation.max.ms": "500"},
    )
    with Producer(config) as producer:
        future = producer.send(unique("no-such-topic"), b"x")
        with pytest.raises(PermanentProducerError, match=r"no-such-topic.*UNKNOWN_TOPIC"):
            future.result(DELIVERY_WAIT_S)


@dataclass
class FullQueue:
    producer: Producer
    topic: str


@pytest.fixture
def full_queue(
    config: ProducerConfig, topic_factory: Callable[..., str], request: pytest.FixtureRequest
) -> Iterator[FullQueue]:
    """A producer whose queue of five messages is full, and stays full for about
    ``HOLD_MS`` (librdkafka holds them back that long before sending). Its queue-full
    policy is the test's ``policy`` parameter, if any (default: block)."""
    policy = getattr(request, "param", QueueFullPolicy.BLOCK)
    topic = topic_factory()
    held = config.model_copy(
        update={"queue_max_messages": 5, "linger_ms": HOLD_MS, "queue_full": policy}
    )
    with Producer(held) as producer:
        producer.send(topic, b"warm-up").result(DELIVERY_WAIT_S)
        # Its report settles the future before librdkafka frees its queue slot.
        assert producer.flush(DELIVERY_WAIT_S) == 0
        for i in range(5):
            producer.produce(topic, b"%d" % i)
        yield FullQueue(producer, topic)


@pytest.mark.parametrize("full_queue", [QueueFullPolicy.RAISE], indirect=True)
def test_a_full_queue_raises_at_once_under_the_raise_policy(full_queue: FullQueue) -> None:
    started = time.monotonic()
    with pytest.raises(QueueFullError, match="is full"):
        full_queue.producer.produce(full_queue.topic, b"one too many")
    assert time.monotonic() - started < HOLD_MS / 1000 / 2
    assert full_queue.producer.stats.snapshot().queue_full == 1


def test_a_full_queue_blocks_until_its_timeout(full_queue: FullQueue) -> None:
    started = time.monotonic()
    with pytest.raises(QueueFullError, match=r"stayed full for 0\.3 s"):
        full_queue.producer.produce(
            full_queue.topic, b"one too many", options=ProduceOptions(queue_full_timeout_s=0.3)
        )
    assert 0.3 <= time.monotonic() - started < HOLD_MS / 1000


def test_a_blocked_produce_goes_through_once_there_is_room(full_queue: FullQueue) -> None:
    started = time.monotonic()
    future = full_queue.producer.send(full_queue.topic, b"waited")
    waited = time.monotonic() - started
    assert future.result(DELIVERY_WAIT_S).offset == 6
    # It waited for the held messages to be sent and acknowledged.
    assert waited >= HOLD_MS / 1000 / 2


def test_a_per_call_policy_overrides_the_producers(full_queue: FullQueue) -> None:
    with pytest.raises(QueueFullError, match="is full"):
        full_queue.producer.produce(
            full_queue.topic, b"x", options=ProduceOptions(queue_full=QueueFullPolicy.RAISE)
        )


def test_awaiting_a_full_queue_leaves_the_event_loop_running(full_queue: FullQueue) -> None:
    async def send_while_ticking() -> tuple[Delivery, int]:
        ticks = 0
        stop = asyncio.Event()

        async def tick() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        delivery = await full_queue.producer.send_async(full_queue.topic, b"waited")
        stop.set()
        await ticker
        return delivery, ticks

    delivery, ticks = asyncio.run(send_while_ticking())
    assert delivery.offset == 6
    assert ticks >= 10


def test_close_flushes_everything_queued(
    config: ProducerConfig, services: Services, topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=4)
    producer = Producer(config.model_copy(update={"linger_ms": 100}))
    futures = [producer.send(topic, b"f%d" % i) for i in range(100)]
    for i in range(5_000):
        producer.produce(topic, b"%d" % i)
    report = producer.close()
    assert report.clean
    assert all(future.done() and future.exception() is None for future in futures)
    assert producer.stats.snapshot().acked == 5_100
    assert len(read_all(services.kafka, topic, 5_100)) == 5_100
    with pytest.raises(ProducerClosedError):
        producer.produce(topic, b"late")
    with pytest.raises(ProducerClosedError):
        producer.flush(1.0)
    assert len(producer) == 0
    assert producer.close() is report


def test_close_fails_what_it_gives_up_on(services: Services, unique: Callable[[str], str]) -> None:
    # A topic that does not exist (and is not created) keeps its records queued while
    # librdkafka waits for its metadata: close must give up on them, and say so.
    config = ProducerConfig(
        bootstrap_servers=services.kafka,
        client_id=unique("producer"),
        kafka_properties={"topic.metadata.propagation.max.ms": "60000"},
    )
    producer = Producer(config)
    futures = [producer.send(unique("missing"), b"%d" % i) for i in range(3)]
    started = time.monotonic()
    report = producer.close(timeout_s=0.5)
    assert time.monotonic() - started < 10
    assert report.undelivered == 3
    for future in futures:
        error = future.exception(0)
        assert isinstance(error, UndeliveredError)
        assert not error.in_flight
        assert "closed after 0.5 s; it was never sent" in str(error)
    assert producer.stats.snapshot().failed == {"_PURGE_QUEUE": 3}


def test_the_metrics_count_what_happened(
    config: ProducerConfig, services: Services, topic_factory: Callable[..., str]
) -> None:
    registry = CollectorRegistry()
    topic = topic_factory(partitions=2)
    name = config.client_id
    with Producer(config, registry=registry) as producer:
        for i in range(300):
            producer.produce(topic, b"%d" % i)
        producer.send(topic, b"x").result(DELIVERY_WAIT_S)
        with pytest.raises(PermanentProducerError):
            producer.send(topic, b"x", partition=9).result(DELIVERY_WAIT_S)
        assert producer.flush(DELIVERY_WAIT_S) == 0

        def value(metric: str, **labels: str) -> float | None:
            return registry.get_sample_value(metric, {"producer": name, **labels})

        # The record for partition 9 was either refused outright (metadata known) or
        # queued and failed when the metadata came: one or the other, once.
        refused = value("turnout_producer_rejected_total", reason="_UNKNOWN_PARTITION") or 0
        failed = value("turnout_producer_failed_total", error="_UNKNOWN_PARTITION") or 0
        assert refused + failed == 1
        assert value("turnout_producer_sent_total") == 301 + failed
        assert value("turnout_producer_acked_total") == 301
        assert value("turnout_producer_queue_messages") == 0
        # The first acknowledgement and one in every latency_sample_every after it.
        sampled = math.ceil(301 / config.latency_sample_every)
        assert value("turnout_producer_delivery_latency_seconds_count") == sampled
        assert (value("turnout_producer_delivery_latency_seconds_sum") or 0) > 0
    assert len(read_all(services.kafka, topic, 301)) == 301
    # A closed producer no longer reports.
    assert registry.get_sample_value("turnout_producer_sent_total", {"producer": name}) is None
