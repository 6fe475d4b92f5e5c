"""A slow handler over one million records keeps memory flat: back-pressure pauses the
partitions (or stops the polls) instead of queueing what Kafka can deliver faster than the
handler finishes. Proved with tight bounds, through the test harness's loop and the agent,
and with the work manager's default bounds through the agent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from confluent_kafka import Producer

from bench.assign_loop import CONSUME_BATCH, AssignLoop
from tests.support.agent_kit import REPO_ROOT, World
from tests.support.services import Services, create_topic, unique_name
from turnout.agent import Agent
from turnout.agent.coordination import AgentState
from turnout.agent.kafka_source import POLL_BATCH
from turnout.agent.records import Record
from turnout.agent.work import Ordering, WorkConfig, WorkManager, work_manager_factory

RECORDS = 1_000_000
PARTITIONS = 8
#: RSS is sampled this often while the loop runs.
SAMPLE_EVERY_S = 0.2
#: Growth allowed once the first records are through. Holding every record would take
#: about 500 MB (a Record with its 100-byte value is ~500 B); the work manager alone stays
#: flat (its in-flight bound is 10,000 records, ~5 MB, in the tight bounds; 40,000, ~20
#: MB, at the defaults), and the rest of this allowance is the consumer's: librdkafka's
#: per-partition prefetch and glibc's per-thread malloc arenas.
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


def slow_handler(done: list[int]) -> Callable[[Record], None]:
    def slow(record: Record) -> None:
        # On average slower than the fetch: 1 ms every 100 records per partition lane.
        if record.offset % 100 == 0:
            time.sleep(0.001)
        done[0] += 1

    return slow


#: Bounds of the work manager under test: tight, so back-pressure engages early...
TIGHT = WorkConfig(
    ordering=Ordering.PARTITION,
    workers=PARTITIONS,
    max_in_flight_per_partition=2000,
    max_in_flight=10_000,
)
#: ...and the defaults, which a service gets unless it sets its own.
BOUNDS = {"tight": TIGHT, "default": WorkConfig()}
#: librdkafka's own prefetch buffer is bounded by its configuration, per partition; kept
#: small so what is measured is the work manager's memory.
PREFETCH = {"queued.max.messages.kbytes": "2048", "queued.min.messages": "5000"}


class RssSampler:
    """Samples (records handed to the work manager, RSS, in flight) every SAMPLE_EVERY_S."""

    def __init__(
        self, work: WorkConfig, progress: Callable[[], int], in_flight: Callable[[], int]
    ) -> None:
        self.samples: list[tuple[int, int, int]] = []
        self._work = work
        self._progress = progress
        self._in_flight = in_flight
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._process = psutil.Process()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            rss = self._process.memory_info().rss
            self.samples.append((self._progress(), rss, self._in_flight()))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5.0)

    def report(self) -> None:
        """One JSON line on stdout, for the test in the parent process."""
        sys.stdout.write(
            json.dumps(
                {
                    "samples": self.samples,
                    "max_in_flight": self._work.max_in_flight,
                    "max_in_flight_per_partition": self._work.max_in_flight_per_partition,
                }
            )
            + "\n"
        )


def measure(bootstrap: str, topic: str, group: str) -> None:
    """Consume the topic with a slow handler through the test harness's ``assign()`` loop.
    Runs in a child process of its own, so the RSS measured is this loop's (consumer and
    work manager), not the test runner's with its hundreds of earlier tests' threads and
    malloc arenas."""
    done = [0]
    manager = WorkManager(TIGHT, handler=slow_handler(done))
    loop = AssignLoop(
        bootstrap,
        group,
        [(topic, p) for p in range(PARTITIONS)],
        manager,
        consumer_config=dict(PREFETCH),
    )
    loop.open()
    try:
        with RssSampler(TIGHT, lambda: loop.consumed, lambda: manager.in_flight) as sampler:
            loop.run(lambda: done[0] >= RECORDS, RUN_TIMEOUT_S)
    finally:
        loop.close()
    sampler.report()


def measure_in_agent(
    zookeeper: str, bootstrap: str, topic: str, group: str, logs: str, bounds: str
) -> None:
    """The same through the real agent: ZooKeeper ownership, and the work manager's
    workers fetching for themselves (the agent's data path, not the harness loop), with
    the work manager's ``BOUNDS[bounds]``."""
    work = BOUNDS[bounds]
    done = [0]
    built: list[WorkManager] = []
    world = World(zookeeper, bootstrap, topic, group, PARTITIONS, Path(logs))
    world.create_directive()
    agent = Agent(
        world.config("memory", kafka_properties=PREFETCH),
        slow_handler(done),
        dispatcher_factory=work_manager_factory(work, on_built=built.append),
    ).start()
    world.agents["memory"] = agent

    def in_flight() -> int:
        return built[-1].in_flight if built else 0

    try:
        with RssSampler(work, lambda: done[0] + in_flight(), in_flight) as sampler:
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while done[0] < RECORDS:
                assert time.monotonic() < deadline, f"only {done[0]} records in {RUN_TIMEOUT_S} s"
                assert agent.state is not AgentState.FAILED, agent.status()
                time.sleep(0.05)
    finally:
        world.close()
    sampler.report()


@pytest.fixture(scope="module")
def filled_topic(services: Services) -> str:
    """One million 100-byte records over PARTITIONS partitions, shared by this module."""
    topic = unique_name("memory-bound")
    create_topic(services.kafka, topic, PARTITIONS)
    # In a child process, so the producer's buffers are not part of any measured RSS.
    subprocess.run(
        [
            sys.executable, "-c",
            "import sys; from tests.integration.work.test_memory_bound import fill; "
            "fill(sys.argv[1], sys.argv[2])",
            services.kafka, topic,
        ],
        check=True, cwd=REPO_ROOT, timeout=FILL_TIMEOUT_S,
    )  # fmt: skip
    return topic


def run_child(call: str, *args: str) -> dict[str, Any]:
    measured = subprocess.run(
        [
            sys.executable, "-c",
            f"import sys; from tests.integration.work.test_memory_bound import {call}; "
            f"{call}(*sys.argv[1:])",
            *args,
        ],
        cwd=REPO_ROOT, timeout=RUN_TIMEOUT_S + 60, capture_output=True, text=True,
    )  # fmt: skip
    assert measured.returncode == 0, f"{call} failed:\n{measured.stderr[-4000:]}"
    result: dict[str, Any] = json.loads(measured.stdout.strip().splitlines()[-1])
    return result


def assert_bounded(result: dict[str, Any]) -> None:
    samples = [tuple(s) for s in result["samples"]]
    warm = [s for s in samples if s[0] >= WARM_UP_RECORDS]
    assert len(warm) >= 5, f"too few samples after warm-up: {samples[-3:]}"
    baseline = warm[0][1]
    peak = max(s[1] for s in warm)
    assert peak - baseline < MAX_GROWTH_BYTES, (
        f"RSS grew by {(peak - baseline) / 2**20:.1f} MiB after warm-up"
    )
    # The bound held throughout: one poll over it at most (the harness polls up to
    # CONSUME_BATCH records, the agent up to POLL_BATCH).
    assert max(s[2] for s in samples) <= result["max_in_flight"] + max(CONSUME_BATCH, POLL_BATCH)
    # Back-pressure was really exercised: records waited in flight up to a partition's bound.
    assert max(s[2] for s in samples) >= result["max_in_flight_per_partition"]


@pytest.mark.long  # the agent's own run below is the suite's representative
def test_rss_stays_bounded_over_a_million_records_with_a_slow_handler(
    services: Services, filled_topic: str, unique: Callable[[str], str]
) -> None:
    assert_bounded(run_child("measure", services.kafka, filled_topic, unique("group")))


@pytest.mark.parametrize("bounds", list(BOUNDS))
def test_in_the_agent_rss_stays_bounded_over_a_million_records_with_a_slow_handler(
    services: Services,
    filled_topic: str,
    zk_root: str,
    unique: Callable[[str], str],
    tmp_path: Path,
    bounds: str,
) -> None:
    assert_bounded(
        run_child(
            "measure_in_agent",
            zk_root,
            services.kafka,
            filled_topic,
            unique("group"),
            str(tmp_path),
            bounds,
        )
    )
