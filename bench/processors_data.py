"""The processors benchmark's data: the input records, the topics, the transform.

Input record ``i`` is the JSON object ``{"id": i, "key": "k<i % KEYS>", "amount": ...,
"note": ...}`` (about 100 bytes) with key ``k<i % KEYS>``, written to partition
``i % PARTITIONS`` (``KEYS`` is a multiple of ``PARTITIONS``, so a key lives in one
partition). Every side applies the same transform: parse the value, add the field
``ADDED_FIELD`` (which names who produced the output), serialize, produce with the same
key to the output topic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

PARTITIONS = 8
KEYS = 4096
#: The field the transform adds; its value says which side (or colour) produced it.
ADDED_FIELD = "processed_by"
NOTE = "n" * 40
#: The logical output Turnout's processors write to; the deployment maps it to the topic.
OUTPUT = "out"
#: Creating or deleting a topic on the local stack takes milliseconds; this long is a failure.
TOPIC_TIMEOUT_S = 60.0
#: Writing a million small records takes seconds; a flush this long has failed.
FILL_FLUSH_TIMEOUT_S = 300.0
#: The filling producer's wait in ``poll`` when its queue is full.
FILL_QUEUE_FULL_POLL_S = 0.05


def key_of(record_id: int) -> str:
    return f"k{record_id % KEYS}"


def input_value(record_id: int) -> bytes:
    return json.dumps(
        {"id": record_id, "key": key_of(record_id), "amount": record_id % 1000, "note": NOTE}
    ).encode()


def transform(value: bytes, processed_by: str) -> bytes:
    """The benchmark's transform, as every side does it: parse, add a field, serialize.
    With ``orjson``, as quixstreams' JSON (de)serializers use it: the transform is the
    user's code, and both sides' users get the same parser."""
    document: dict[str, Any] = orjson.loads(value)
    document[ADDED_FIELD] = processed_by
    return orjson.dumps(document)


def create_topics(bootstrap: str, *topics: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, PARTITIONS, 1) for topic in topics])
    for future in futures.values():
        future.result(TOPIC_TIMEOUT_S)


def delete_topics(bootstrap: str, *topics: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(list(topics)).values():
        future.result(TOPIC_TIMEOUT_S)


def fill(
    bootstrap: str, topic: str, records: int, value_of: Callable[[int], bytes] = input_value
) -> None:
    """Write records ``0 .. records - 1`` (record ``i``'s value ``value_of(i)``, its key
    ``key_of(i)``, in partition ``i % PARTITIONS``) to ``topic``; raises unless every one
    is acked."""
    failed = 0

    def on_delivery(error: object, _message: object) -> None:
        nonlocal failed
        if error is not None:
            failed += 1

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 500_000,
            "on_delivery": on_delivery,
        }
    )
    for i in range(records):
        while True:
            try:
                producer.produce(topic, value_of(i), key_of(i).encode(), partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(FILL_QUEUE_FULL_POLL_S)
    if producer.flush(FILL_FLUSH_TIMEOUT_S) or failed:
        raise RuntimeError(f"the input topic could not be filled ({failed} records failed)")
