"""The at-least-once runner's confirmed writes on the real local Kafka: calls in flight at
once each write through a producer of their own and keep their order from call to call,
and a call whose output failed leaves its producer behind."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from prometheus_client import CollectorRegistry

from tests.support.kafka_records import read_all
from tests.support.services import Services
from turnout.agent.processors.confirmed_writes import ConfirmedWrites
from turnout.producer import ConfirmingProducer, PermanentProducerError, ProducerConfig

#: A local broker acknowledges in milliseconds; a loaded, shared CI box needs far less.
CONFIRM_WAIT_S = 30.0
CALLERS = 4
CALLS_PER_CALLER = 20
RECORDS_PER_CALL = 100


def pool(services: Services, name: str, prepared: int) -> ConfirmedWrites:
    config = ProducerConfig(bootstrap_servers=services.kafka, client_id=name)
    registry = CollectorRegistry()

    def make(producer_name: str) -> ConfirmingProducer[bytes | str, bytes | str]:
        return ConfirmingProducer(config, registry=registry, name=producer_name)

    return ConfirmedWrites(make, name, prepared)


def test_calls_at_once_write_through_producers_of_their_own_in_order(
    services: Services, unique: Callable[[str], str], topic_factory: Callable[..., str]
) -> None:
    topic = topic_factory(partitions=2)
    writes = pool(services, unique("outputs"), prepared=1)
    failures: list[BaseException] = []

    def caller(number: int) -> None:
        key = b"caller-%d" % number
        try:
            for call in range(CALLS_PER_CALLER):
                values = range(call * RECORDS_PER_CALL, (call + 1) * RECORDS_PER_CALL)
                writes.write([(topic, b"%d" % i, key, -1, 0, None) for i in values], CONFIRM_WAIT_S)
        except BaseException as exc:  # reported by the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(CONFIRM_WAIT_S * 2)
    try:
        assert failures == []
        assert 1 <= writes.producers <= CALLERS
    finally:
        writes.close(CONFIRM_WAIT_S)
    total = CALLERS * CALLS_PER_CALLER * RECORDS_PER_CALL
    by_key: defaultdict[bytes, list[int]] = defaultdict(list)
    for message in read_all(services.kafka, topic, total):
        by_key[message.key() or b""].append(int(message.value() or b"-1"))
    expected = list(range(CALLS_PER_CALLER * RECORDS_PER_CALL))
    assert {key: values == expected for key, values in by_key.items()} == {
        b"caller-%d" % n: True for n in range(CALLERS)
    }


def test_a_call_whose_output_failed_leaves_its_producer_behind(
    services: Services, unique: Callable[[str], str]
) -> None:
    topic = unique("small-records")
    admin = AdminClient({"bootstrap.servers": services.kafka})  # kept until it answers
    created = admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "1000"})])
    created[topic].result(CONFIRM_WAIT_S)
    writes = pool(services, unique("outputs"), prepared=1)
    try:
        writes.write([(topic, b"first", None, -1, 0, None)], CONFIRM_WAIT_S)
        assert writes.producers == 1
        with pytest.raises(PermanentProducerError, match="MSG_SIZE_TOO_LARGE"):
            writes.write([(topic, b"x" * 10_000, None, -1, 0, None)], CONFIRM_WAIT_S)
        assert writes.producers == 0
        writes.write([(topic, b"after", None, -1, 0, None)], CONFIRM_WAIT_S)
        assert writes.producers == 1
    finally:
        writes.close(CONFIRM_WAIT_S)
    assert [m.value() for m in read_all(services.kafka, topic, 2)] == [b"first", b"after"]
