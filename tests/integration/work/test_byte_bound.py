"""Large records stay within the deployment's in-flight byte bound: 100 KB records through
the real agent, whose settings (from the directive) allow 4 MiB in flight."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from confluent_kafka import Producer
from prometheus_client import CollectorRegistry

from tests.support.agent_kit import World, wait_until
from turnout.agent import Agent, Record
from turnout.protocol.processing import ProcessingSettings

RECORD_BYTES = 100 * 1024
RECORDS = 600
PARTITIONS = 4
MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024
#: Over 100 KB records the byte bound trips long before the record bound would.
SETTINGS = ProcessingSettings(
    ordering="partition", workers=4, max_in_flight_bytes=MAX_IN_FLIGHT_BYTES
)
SAMPLE_EVERY_S = 0.01


def in_flight_records(registry: CollectorRegistry) -> int:
    return int(
        sum(
            sample.value
            for metric in registry.collect()
            if metric.name == "turnout_work_in_flight"
            for sample in metric.samples
        )
    )


def test_100_kb_records_never_pass_the_in_flight_byte_bound(
    make_world: Callable[..., World],
) -> None:
    world = make_world(partitions=PARTITIONS)
    world.create_directive(processing=SETTINGS)
    done: list[int] = []

    def slow(record: Record) -> None:
        time.sleep(0.002)  # slower than the broker delivers: records queue up
        done.append(record.offset)

    # The whole backlog waits in Kafka before the agent starts: it could fetch it all.
    producer = Producer({"bootstrap.servers": world.kafka, "linger.ms": 20})
    for i in range(RECORDS):
        producer.produce(world.topic, os.urandom(RECORD_BYTES), partition=i % PARTITIONS)
        producer.poll(0)
    assert producer.flush(30) == 0
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(SAMPLE_EVERY_S):
            peak = max(peak, in_flight_records(agent.metrics.registry))

    agent = Agent(world.config("big"), slow).start()
    world.agents["big"] = agent
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        wait_until(lambda: agent.status().processing_version == SETTINGS.version, 30, "settings")
        wait_until(lambda: len(done) >= RECORDS, 120, f"{RECORDS} records handled")
    finally:
        stop.set()
        sampler.join(5)
    # At most the bound's worth (the last poll is cut to the room left), plus one record:
    # a poll always takes at least one.
    most = MAX_IN_FLIGHT_BYTES // RECORD_BYTES + 1
    assert most // 2 <= peak <= most, (peak, most)  # the bound, not the load, held it
