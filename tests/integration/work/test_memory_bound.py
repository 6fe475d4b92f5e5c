"""A slow handler over one million records keeps memory flat: back-pressure pauses the
partitions instead of queueing what Kafka can deliver faster than the handler finishes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psutil
from confluent_kafka import Producer

from tests.integration.work.loop import AssignLoop
from tests.support.agent_kit import REPO_ROOT
from tests.support.services import Services
from turnout.agent.dispatch import Record
from turnout.agent.work import Ordering, WorkConfig, WorkManager

RECORDS = 1_000_000
PARTITIONS = 8
#: RSS is sampled this often while the loop runs.
SAMPLE_EVERY_S = 0.2
#: Growth allowed once the first records are through. Holding every record would take
#: about 500 MB (a Record with its 100-byte value is ~500 B); the work manager alone stays
#: flat (its in-flight bound is 10,000 records, ~5 MB), and the rest of this allowance is
#: the consumer's: librdkafka's per-partition prefetch and glibc's per-thread malloc arenas.
#: Measured with the incompressible values below: swings of up to 20 MB around a 70 MB
#: baseline (with a repeated-byte value, fetches unpacked ~100-fold and RSS swung by 65 MB,
#: enough to fail this bound now and then).
MAX_GROWTH_BYTES = 64 * 1024 * 1024
#: Baseline is taken once this many records are consumed.
WARM_UP_RECORDS = 200_000
RUN_TIMEOUT_S = 240.0
#: Producing a million small records takes a few seconds on a local broker.
FILL_TIMEOUT_S = 120.0


def fill(bootstrap: str, topic: str) -> None:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 50,
            "batch.num.messages": 10_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 500_000,
        }
    )
    # Incompressible values, so a fetch's decompressed size is what the consumer's
    # prefetch bounds say (a repeated byte compresses ~100-fold under lz4, and one fetch
    # would unpack into tens of megabytes, swinging the RSS by as much).
    values = [os.urandom(100) for _ in range(1024)]
    for i in range(RECORDS):
        while True:
            try:
                producer.produce(topic, values[i % len(values)], partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60.0) == 0


def measure(bootstrap: str, topic: str, group: str) -> None:
    """Consume the topic with a slow handler and print one JSON line: the RSS samples and
    the bounds. Runs in a child process of its own, so the RSS measured is this loop's
    (consumer and work manager), not the test runner's with its hundreds of earlier
    tests' threads and malloc arenas."""
    done = [0]

    def slow(record: Record) -> None:
        # On average slower than the fetch: 1 ms every 100 records per partition lane.
        if record.offset % 100 == 0:
            time.sleep(0.001)
        done[0] += 1

    config = WorkConfig(
        ordering=Ordering.PARTITION,
        workers=PARTITIONS,
        max_in_flight_per_partition=2000,
        max_in_flight=10_000,
    )
    manager = WorkManager(config, handler=slow)
    loop = AssignLoop(
        bootstrap,
        group,
        [(topic, p) for p in range(PARTITIONS)],
        manager,
        # librdkafka's own prefetch buffer is bounded by its configuration, per partition;
        # kept small so what is measured is the work manager's memory.
        consumer_config={"queued.max.messages.kbytes": 2048, "queued.min.messages": 5000},
    )
    process = psutil.Process()
    samples: list[tuple[int, int, int]] = []  # (consumed, rss, in flight)
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_EVERY_S):
            samples.append((loop.consumed, process.memory_info().rss, manager.in_flight))

    sampler = threading.Thread(target=sample, daemon=True)
    loop.open()
    sampler.start()
    try:
        loop.run(lambda: done[0] >= RECORDS, RUN_TIMEOUT_S)
    finally:
        stop.set()
        sampler.join(5.0)
        loop.close()
    sys.stdout.write(
        json.dumps(
            {
                "samples": samples,
                "max_in_flight": config.max_in_flight,
                "max_in_flight_per_partition": config.max_in_flight_per_partition,
            }
        )
        + "\n"
    )


def test_rss_stays_bounded_over_a_million_records_with_a_slow_handler(
    services: Services, topic_factory: Callable[..., str], unique: Callable[[str], str]
) -> None:
    topic = topic_factory(PARTITIONS)
    # In a child process, so the producer's buffers are not part of the measured RSS.
    subprocess.run(
        [
            sys.executable, "-c",
            "import sys; from tests.integration.work.test_memory_bound import fill; "
            "fill(sys.argv[1], sys.argv[2])",
            services.kafka, topic,
        ],
        check=True, cwd=REPO_ROOT, timeout=FILL_TIMEOUT_S,
    )  # fmt: skip
    measured = subprocess.run(
        [
            sys.executable, "-c",
            "import sys; from tests.integration.work.test_memory_bound import measure; "
            "measure(sys.argv[1], sys.argv[2], sys.argv[3])",
            services.kafka, topic, unique("group"),
        ],
        check=True, cwd=REPO_ROOT, timeout=RUN_TIMEOUT_S + 60, capture_output=True, text=True,
    )  # fmt: skip
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    samples = [tuple(s) for s in result["samples"]]
    warm = [s for s in samples if s[0] >= WARM_UP_RECORDS]
    assert len(warm) >= 5, f"too few samples after warm-up: {samples[-3:]}"
    baseline = warm[0][1]
    peak = max(s[1] for s in warm)
    assert peak - baseline < MAX_GROWTH_BYTES, (
        f"RSS grew by {(peak - baseline) / 2**20:.1f} MiB after warm-up"
    )
    # The bound held throughout: one consume batch over it at most.
    assert max(s[2] for s in samples) <= result["max_in_flight"] + 1000
    # Back-pressure was really exercised: the loop paused while records were in flight.
    assert max(s[2] for s in samples) >= result["max_in_flight_per_partition"]
